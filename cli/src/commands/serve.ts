import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseChannelArguments, parseExtra } from '@subpack/pack';
import { PACK_FORMATS, isPackFormat, type Extras } from '@subpack/rules';
import { parseDuration } from '@subpack/config';
import { runService } from '@subpack/runtime';
import { AppRegistry, SERVE_SERVICE, ServeAdmin, UnknownAppError, serveMasterRoots, signedQuery, type ServedApp, type ServedChannel } from '@subpack/serve';
import { TaskStore } from '@subpack/state';
import type { Redis } from 'ioredis';
import { lifetime } from '../lifetime';
import { UsageError } from '../usage';
import { DEFAULT_BROKER_TIMEOUT_SECONDS, withRedis } from './broker';

type Sub = (argv: string[]) => Promise<number>;

/** `subpack serve` runs the serve service in this process; the subcommands edit its registry in Redis. */
export async function serveCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'app') return dispatch('app', APP_COMMANDS, rest);
  if (sub === 'channel') return dispatch('channel', CHANNEL_COMMANDS, rest);
  if (sub === 'sign') return signCommand(rest);
  return startCommand(argv);
}

async function dispatch(group: string, commands: Record<string, Sub>, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) throw new UsageError(`serve ${group} takes one of ${Object.keys(commands).join(', ')}${name ? `, not ${JSON.stringify(name)}` : ''}`);
  return command(rest);
}

async function startCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string', short: 'p' } } });
  // The service reads its settings from the environment like the deployable; the flag is a shortcut for HTTP_PORT.
  if (values.port !== undefined) process.env.HTTP_PORT = values.port;
  lifetime.serving = true;
  await runService(SERVE_SERVICE);
  return 0;
}

/** A master given as a plain path becomes a file:// URL, as the registry stores URLs. */
function masterUrl(text: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : pathToFileURL(resolve(text)).href;
}

/** Edits the registry as the server would: with its master roots (SUBPACK_MASTER_ROOTS) when it has them. */
function withAdmin<T>(fn: (admin: ServeAdmin, redis: Redis, prefix: string) => Promise<T>): Promise<T> {
  const roots = serveMasterRoots();
  return withRedis(DEFAULT_BROKER_TIMEOUT_SECONDS * 1000, (redis, prefix) => {
    return fn(ServeAdmin.withRoots(new AppRegistry(redis, prefix), roots), redis, prefix);
  });
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : text);
}

function describeApp(a: ServedApp): string {
  const extras = Object.entries(a.extras).map(([k, v]) => `${k}=${v}`).join(',');
  return `${a.name}  ${a.master}  format=${a.format}  name=${a.naming}${extras ? `  extras=${extras}` : ''}${a.signed ? '  signed' : ''}\n`;
}

function describeChannel(c: ServedChannel): string {
  const extras = Object.entries(c.extras).map(([k, v]) => `${k}=${v}`).join(',');
  return `${c.id}${extras ? `,${extras}` : ''}\n`;
}

const APP_COMMANDS: Record<string, Sub> = {
  async add(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        master: { type: 'string' },
        format: { type: 'string', default: 'auto' },
        name: { type: 'string' },
        extra: { type: 'string', short: 'e', multiple: true, default: [] },
        signed: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('serve app add takes exactly one app name');
    if (!values.master) throw new UsageError('serve app add needs --master <file path or storage URL>');
    const format = values.format;
    if (!isPackFormat(format)) throw new UsageError(`--format must be one of ${PACK_FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
    const extras: Extras = {};
    for (const e of values.extra) {
      const [k, v] = parseExtra(e, '--extra');
      extras[k] = v;
    }
    const app = await withAdmin((admin) =>
      admin.putApp(positionals[0]!, {
        master: masterUrl(values.master!),
        format,
        ...(values.name !== undefined ? { naming: values.name } : {}),
        extras,
        signed: values.signed,
      }),
    );
    print(values.json, app, describeApp(app));
    return 0;
  },
  async list(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
    const apps = await withAdmin((admin) => admin.registry.listApps());
    print(values.json, apps, apps.map(describeApp).join(''));
    return 0;
  },
  async remove(argv) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true });
    if (positionals.length !== 1) throw new UsageError('serve app remove takes exactly one app name');
    const removed = await withAdmin((admin) => admin.registry.removeApp(positionals[0]!));
    if (!removed) {
      process.stderr.write(`subpack: no app ${JSON.stringify(positionals[0])}\n`);
      return 1;
    }
    return 0;
  },
};

const CHANNEL_COMMANDS: Record<string, Sub> = {
  async add(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { channel: { type: 'string', short: 'c', multiple: true, default: [] }, channels: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1) throw new UsageError('serve channel add takes exactly one app name');
    const file = values.channels;
    const channels = parseChannelArguments(values.channel, file === undefined ? undefined : { text: await readFile(file, 'utf8'), label: file });
    if (channels.length === 0) throw new UsageError('serve channel add needs --channel <id> or --channels <file>');
    const added = await withAdmin((admin) => admin.putChannels(positionals[0]!, channels));
    print(values.json, added, `${added.length} channel(s) added to ${positionals[0]}\n`);
    return 0;
  },
  async list(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    if (positionals.length !== 1) throw new UsageError('serve channel list takes exactly one app name');
    const channels = await withAdmin(async (admin) => admin.registry.listChannels((await admin.app(positionals[0]!)).name));
    print(values.json, channels, channels.map(describeChannel).join(''));
    return 0;
  },
  async remove(argv) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true });
    if (positionals.length < 2) throw new UsageError('serve channel remove takes an app name and one or more channel ids');
    const [app, ...ids] = positionals as [string, ...string[]];
    const removed = await withAdmin(async (admin) => admin.registry.removeChannels((await admin.app(app)).name, ids));
    process.stdout.write(`${removed} of ${ids.length} channel(s) removed from ${app}\n`);
    return removed === ids.length ? 0 : 1;
  },
  async import(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { task: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1 || !values.task) throw new UsageError('serve channel import takes an app name and --task <taskId>');
    const result = await withAdmin((admin, redis, keyPrefix) => admin.importTask(positionals[0]!, new TaskStore(redis, { keyPrefix }), values.task!));
    const skipped = result.skipped.map((s) => `  ${s.channel}: ${s.reason}\n`).join('');
    print(values.json, result, `${result.imported.length} channel(s) imported, ${result.skipped.length} skipped\n${skipped}`);
    return result.skipped.length > 0 ? 1 : 0;
  },
};

/** Prints a signed link; the key is the server's SUBPACK_SERVE_URL_KEY. */
async function signCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ttl: { type: 'string', default: '1h' }, base: { type: 'string', default: 'http://127.0.0.1:8080' } },
  });
  if (positionals.length !== 2) throw new UsageError('serve sign takes an app name and a channel id');
  const key = process.env.SUBPACK_SERVE_URL_KEY;
  if (!key) throw new UsageError('serve sign needs SUBPACK_SERVE_URL_KEY, the key the server verifies links with');
  let ttlMs: number;
  try {
    ttlMs = parseDuration(values.ttl);
  } catch (err) {
    throw new UsageError(`--ttl: ${(err as Error).message}`);
  }
  const [app, channel] = positionals as [string, string];
  // A link to a channel the server does not serve would only ever answer 404: refuse it here, where it can be fixed.
  await withAdmin(async (admin) => {
    const served = await admin.app(app);
    if (!(await admin.registry.getChannel(served.name, channel))) {
      throw new UnknownAppError(`app ${JSON.stringify(served.name)} has no channel ${JSON.stringify(channel)}; add it first (subpack serve channel add)`);
    }
  });
  const expires = Math.floor((Date.now() + ttlMs) / 1000);
  const base = values.base.replace(/\/+$/, '');
  process.stdout.write(`${base}/apk/${encodeURIComponent(app)}/${encodeURIComponent(channel)}.apk?${signedQuery(key, app, channel, expires)}\n`);
  return 0;
}
