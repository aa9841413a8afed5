import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadMaster, packToDirectory, parseChannelList, parseExtra, type ChannelSpec } from '@subpack/pack';
import { DEFAULT_NAMING, DEFAULT_PACK_FORMAT, PACK_FORMATS, isPackFormat, type Extras } from '@subpack/rules';
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
    },
  });
  if (positionals.length !== 1) throw new UsageError('pack takes exactly one master APK path');
  if (!values.out) throw new UsageError('pack needs --out <dir>');
  if (!isPackFormat(values.format)) throw new UsageError(`--format must be one of ${PACK_FORMATS.join(', ')}, not ${JSON.stringify(values.format)}`);

  const extras: Extras = {};
  for (const e of values.extra) {
    const [k, v] = parseExtra(e, '--extra');
    extras[k] = v;
  }
  const channels: ChannelSpec[] = [];
  for (const c of values.channel) channels.push(...parseChannelList(c, '--channel'));
  if (values.channels) {
    const text = await readFile(values.channels, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --channels ${values.channels}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    channels.push(...parseChannelList(text, values.channels));
  }

  const master = await loadMaster(positionals[0]!, values.locale ? { locale: values.locale } : {});
  const bar = new ProgressBar(channels.length, process.stderr, Boolean(process.stderr.isTTY) && !values.quiet && !values.json);
  const started = Date.now();
  let done = 0;
  const { results, failures } = await packToDirectory(
    master,
    channels,
    { outDir: values.out, format: values.format, nameTemplate: values.name, extras, digests: values.digests || values.json },
    {
      onResult(r) {
        done++;
        if (values.json) process.stdout.write(`${JSON.stringify({ channel: r.channel, file: r.file, bytes: r.bytes, md5: r.md5, sha256: r.sha256 })}\n`);
        bar.update(done, r.channel);
      },
      onFailure(f) {
        done++;
        bar.update(done, f.channel);
        if (values.json) process.stdout.write(`${JSON.stringify({ channel: f.channel, error: f.error })}\n`);
        else {
          bar.clearLine();
          process.stderr.write(`subpack: channel ${JSON.stringify(f.channel)} failed: ${f.error}\n`);
        }
      },
    },
  );
  bar.finish();
  if (!values.quiet && !values.json) {
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(`packed ${results.length}/${channels.length} channels into ${values.out} in ${secs.toFixed(2)}s${failures.length ? `, ${failures.length} failed` : ''}\n`);
  }
  return failures.length > 0 ? 1 : 0;
}
