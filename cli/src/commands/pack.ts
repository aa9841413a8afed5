import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { idsWithSpaces, packChannels, parseChannelArguments, parseExtra, type ChannelSpec, type PackedChannel } from '@subpack/pack';
import { MasterUnavailableError, locationUrl, openMaster, openTarget } from '@subpack/storage';
import { DEFAULT_NAMING, DEFAULT_PACK_FORMAT, PACK_FORMATS, isPackFormat, quoted, type Extras } from '@subpack/rules';
import { ProgressBar } from '../progress';
import { UsageError } from '../usage';

export async function packCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      channel: { type: 'string', short: 'c', multiple: true, default: [] },
      channels: { type: 'string' },
      format: { type: 'string', default: DEFAULT_PACK_FORMAT },
      extra: { type: 'string', short: 'e', multiple: true, default: [] },
      name: { type: 'string', default: DEFAULT_NAMING },
      digests: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      locale: { type: 'string' },
      'no-compose': { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('pack takes exactly one master APK (a path, s3://bucket/key or oss://bucket/key)');
  if (!values.out) throw new UsageError('pack needs --out <dir | s3://bucket/prefix/ | oss://bucket/prefix/>');
  if (!isPackFormat(values.format)) throw new UsageError(`--format must be one of ${PACK_FORMATS.join(', ')}, not ${JSON.stringify(values.format)}`);

  const extras = extrasOf(values.extra);
  const channels = await channelsOf(values.channel, values.channels);

  const source = await openMaster(locationUrl(positionals[0]!, 'file')).catch(asFileError);
  const bar = new ProgressBar(channels.length, process.stderr, Boolean(process.stderr.isTTY) && !values.quiet && !values.json);
  const log = (line: string): void => {
    bar.clearLine();
    process.stderr.write(`subpack: ${line}\n`);
  };
  const target = openTarget(locationUrl(values.out, 'directory'), { compose: !values['no-compose'], log });
  // A missing bucket is one line before any work, not the same failure once per channel.
  await target.check();
  const started = Date.now();
  let done = 0;
  const { results, failures } = await packChannels(
    source,
    target,
    channels,
    { format: values.format, naming: values.name, extras, digests: values.digests || values.json, ...(values.locale ? { locale: values.locale } : {}) },
    {
      onResult(r) {
        done++;
        if (values.json) process.stdout.write(`${JSON.stringify(jsonLine(r, source.location.scheme === 'file'))}\n`);
        bar.update(done, r.channel);
      },
      onFailure(f) {
        done++;
        bar.update(done, f.channel);
        if (values.json) process.stdout.write(`${JSON.stringify({ channel: f.channel, outcome: 'failed', error: f.error })}\n`);
        else log(`channel ${JSON.stringify(f.channel)} failed: ${f.error}`);
      },
    },
  );
  bar.finish();
  if (!values.quiet && !values.json) printSummary(values.out, (Date.now() - started) / 1000, results, failures.length, channels);
  return failures.length > 0 ? 1 : 0;
}

function extrasOf(given: readonly string[]): Extras {
  const extras: Extras = {};
  for (const e of given) {
    const [k, v] = parseExtra(e, '--extra');
    extras[k] = v;
  }
  return extras;
}

/** The ids of --channel and of the --channels file, checked with the shared rules. */
async function channelsOf(given: readonly string[], file: string | undefined): Promise<ChannelSpec[]> {
  const listed = file === undefined ? undefined : {
    label: file,
    text: await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --channels ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    }),
  };
  return parseChannelArguments(given, listed);
}

/** The counts read as `subpack status` gives them; a kept output already held these exact bytes and was not written. */
function printSummary(out: string, seconds: number, results: readonly PackedChannel[], failed: number, channels: ChannelSpec[]): void {
  const kept = results.filter((r) => r.outcome === 'kept').length;
  process.stderr.write(
    `channels into ${out} in ${seconds.toFixed(2)}s: ${results.length} stored (${results.length - kept} written, ${kept} kept), ` +
      `${failed} failed, ${channels.length} total\n`,
  );
  const spaced = idsWithSpaces(channels);
  if (spaced.length > 0) {
    process.stderr.write(`note: ${spaced.length} channel id(s) contain spaces, which are part of the file names (e.g. ${quoted(spaced[0]!)})\n`);
  }
}

/**
 * One --json line: a local pack's output by path, anything that involves object storage by URL, and whether this run
 * wrote the output or kept it.
 */
function jsonLine(r: PackedChannel, localMaster: boolean): Record<string, unknown> {
  const where = localMaster && r.url.startsWith('file:') ? { file: fileURLToPath(r.url) } : { url: r.url };
  return { channel: r.channel, ...where, bytes: r.bytes, md5: r.md5, sha256: r.sha256, outcome: r.outcome };
}

/** A local master is reported by its path and the file system's reason, as every other file argument is. */
function asFileError(err: unknown): never {
  if (err instanceof MasterUnavailableError && err.cause instanceof Error && 'code' in err.cause) throw err.cause;
  throw err;
}
