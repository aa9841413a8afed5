import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { idsWithSpaces, loadMaster, packToDirectory, packToTarget, parseChannelList, parseChannelOption, parseExtra, type ChannelSpec, type ChannelFailure, type PackObserver } from '@subpack/pack';
import { openMaster } from '@subpack/storage';
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

  const extras: Extras = {};
  for (const e of values.extra) {
    const [k, v] = parseExtra(e, '--extra');
    extras[k] = v;
  }
  const channels: ChannelSpec[] = [];
  for (const c of values.channel) channels.push(parseChannelOption(c));
  if (values.channels) {
    const text = await readFile(values.channels, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --channels ${values.channels}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    channels.push(...parseChannelList(text, values.channels));
  }

  const masterArg = positionals[0]!;
  const outArg = values.out;
  const bar = new ProgressBar(channels.length, process.stderr, Boolean(process.stderr.isTTY) && !values.quiet && !values.json);
  const started = Date.now();
  let done = 0;
  const onFailure = (f: ChannelFailure): void => {
    done++;
    bar.update(done, f.channel);
    if (values.json) process.stdout.write(`${JSON.stringify({ channel: f.channel, error: f.error })}\n`);
    else {
      bar.clearLine();
      process.stderr.write(`subpack: channel ${JSON.stringify(f.channel)} failed: ${f.error}\n`);
    }
  };
  const locale = values.locale ? { locale: values.locale } : {};
  let outcome: { results: unknown[]; failures: ChannelFailure[] };
  if (isObjectUrl(masterArg) || isObjectUrl(outArg)) {
    // Object storage on either side: master and output go through libs/storage, composed in the store where it can.
    const source = await openMaster(isObjectUrl(masterArg) ? masterArg : pathToFileURL(resolve(masterArg)).href);
    const master = await loadMaster(source, locale);
    const targetUrl = isObjectUrl(outArg) ? outArg : `${pathToFileURL(resolve(outArg)).href}/`;
    const observer: PackObserver<{ channel: string; url: string; bytes: number; md5: string; sha256: string }> = {
      onResult(r) {
        done++;
        if (values.json) process.stdout.write(`${JSON.stringify({ channel: r.channel, url: r.url, bytes: r.bytes, md5: r.md5, sha256: r.sha256 })}\n`);
        bar.update(done, r.channel);
      },
      onFailure,
    };
    outcome = await packToTarget(
      master,
      source,
      channels,
      {
        targetUrl, format: values.format, nameTemplate: values.name, extras, compose: !values['no-compose'],
        log: (line) => {
          bar.clearLine();
          process.stderr.write(`subpack: ${line}\n`);
        },
      },
      observer,
    );
  } else {
    const master = await loadMaster(masterArg, locale);
    outcome = await packToDirectory(
      master,
      channels,
      { outDir: outArg, format: values.format, nameTemplate: values.name, extras, digests: values.digests || values.json },
      {
        onResult(r) {
          done++;
          if (values.json) process.stdout.write(`${JSON.stringify({ channel: r.channel, file: r.file, bytes: r.bytes, md5: r.md5, sha256: r.sha256 })}\n`);
          bar.update(done, r.channel);
        },
        onFailure,
      },
    );
  }
  const { results, failures } = outcome;
  bar.finish();
  if (!values.quiet && !values.json) {
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(`packed ${results.length}/${channels.length} channels into ${values.out} in ${secs.toFixed(2)}s${failures.length ? `, ${failures.length} failed` : ''}\n`);
    const spaced = idsWithSpaces(channels);
    if (spaced.length > 0) {
      process.stderr.write(`note: ${spaced.length} channel id(s) contain spaces, which are part of the file names (e.g. ${quoted(spaced[0]!)})\n`);
    }
  }
  return failures.length > 0 ? 1 : 0;
}

/** s3:// and oss:// name objects; anything else is a local path (or a file:// URL). */
function isObjectUrl(text: string): boolean {
  return /^(s3|oss):\/\//i.test(text);
}
