import type { Redis } from 'ioredis';
import { PackInputError, checkNameTemplate, validateChannels, type ChannelSpec } from '@subpack/pack';
import { DEFAULT_NAMING, DEFAULT_PACK_FORMAT, PACK_FORMATS, appNameProblem, extrasProblems, isPackFormat, quoted, type Extras, type PackFormat } from '@subpack/rules';
import { parseServableUrl, StorageUrlError } from '@subpack/storage';

/** What an app serves: one master, the format its channels are written in, and the file name users see. */
export interface AppSettings {
  master: string;
  format: PackFormat;
  /** The naming template of `subpack pack`; its file part becomes the download's file name. */
  naming: string;
  /** Written with every channel; a channel's own extras win, as in `subpack pack --extra`. */
  extras: Extras;
  /** Downloads need a valid `?expires=&sig=`. */
  signed: boolean;
}

export interface ServedApp extends AppSettings {
  name: string;
  updatedAt: string;
}

export interface ServedChannel {
  id: string;
  extras: Extras;
  updatedAt: string;
}

export class RegistryInputError extends PackInputError {}

export function checkAppName(name: string): void {
  const problem = appNameProblem(name);
  if (problem) throw new RegistryInputError(`app name ${quoted(name)} ${problem}`);
}

/** Fills defaults and refuses anything a download could trip over later, naming the field. */
export function checkAppSettings(input: Partial<AppSettings> & { master?: unknown }): AppSettings {
  if (typeof input.master !== 'string') throw new RegistryInputError('app: master is required (file:///abs/path.apk, s3://bucket/key or oss://bucket/key)');
  try {
    parseServableUrl(input.master, 'master');
  } catch (err) {
    if (err instanceof StorageUrlError) throw new RegistryInputError(err.message);
    throw err;
  }
  const format = input.format ?? DEFAULT_PACK_FORMAT;
  if (typeof format !== 'string' || !isPackFormat(format)) {
    throw new RegistryInputError(`app: format must be one of ${PACK_FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
  }
  const naming = input.naming ?? DEFAULT_NAMING;
  if (typeof naming !== 'string') throw new RegistryInputError('app: naming must be a string');
  checkNameTemplate(naming);
  const extras = checkExtras(input.extras, 'app extras');
  if (input.signed !== undefined && typeof input.signed !== 'boolean') throw new RegistryInputError('app: signed must be true or false');
  return { master: input.master, format, naming, extras, signed: input.signed ?? false };
}

function checkExtras(value: unknown, what: string): Extras {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new RegistryInputError(`${what} must be an object of string values`);
  }
  const extras = { ...(value as Extras) };
  const problems = extrasProblems(extras);
  if (problems.length > 0) throw new RegistryInputError(`${what} ${problems.join('; ')}`);
  return extras;
}

/**
 * Apps and their channels in Redis: `<prefix>serve:apps` maps app name to its settings, and
 * `<prefix>serve:app:{<name>}:channels` maps channel id to its extras. Both are read on every download, so a channel
 * works the moment it is added, on every server.
 */
export class AppRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private appsKey(): string {
    return `${this.prefix}serve:apps`;
  }

  private channelsKey(app: string): string {
    checkAppName(app);
    return `${this.prefix}serve:app:{${app}}:channels`;
  }

  private versionsKey(app: string): string {
    checkAppName(app);
    return `${this.prefix}serve:app:{${app}}:versions`;
  }

  /**
   * When any server first saw this version of the app's master (ms). Object stores give no modification time with the
   * ETag, and Last-Modified must agree across servers behind one CDN, so the first sighting is recorded here.
   */
  async masterSeenAt(app: string, identity: string): Promise<number> {
    const key = this.versionsKey(app);
    const [, [, seen] = []] = (await this.redis.multi().hsetnx(key, identity, String(Date.now())).hget(key, identity).exec()) ?? [];
    return Number(seen);
  }

  async putApp(name: string, settings: AppSettings): Promise<ServedApp> {
    checkAppName(name);
    const app: ServedApp = { name, ...settings, updatedAt: new Date().toISOString() };
    await this.redis.hset(this.appsKey(), name, JSON.stringify(app));
    return app;
  }

  async getApp(name: string): Promise<ServedApp | null> {
    if (appNameProblem(name)) return null;
    const raw = await this.redis.hget(this.appsKey(), name);
    return raw === null ? null : (JSON.parse(raw) as ServedApp);
  }

  async listApps(): Promise<ServedApp[]> {
    const all = await this.redis.hgetall(this.appsKey());
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as ServedApp)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** True when the app existed; its channels go with it. */
  async removeApp(name: string): Promise<boolean> {
    const [[, removed] = []] = (await this.redis.multi().hdel(this.appsKey(), name).del(this.channelsKey(name), this.versionsKey(name)).exec()) ?? [];
    return removed === 1;
  }

  /** Adds or replaces channels; the same id and extras rules as `subpack pack`, checked for the whole list at once. */
  async putChannels(app: string, channels: readonly ChannelSpec[]): Promise<ServedChannel[]> {
    validateChannels(channels);
    const updatedAt = new Date().toISOString();
    const records = channels.map((c) => ({ id: c.id, extras: c.extras, updatedAt }));
    await this.redis.hset(this.channelsKey(app), Object.fromEntries(records.map((r) => [r.id, JSON.stringify(r)])));
    return records;
  }

  async getChannel(app: string, id: string): Promise<ServedChannel | null> {
    if (appNameProblem(app)) return null;
    const raw = await this.redis.hget(this.channelsKey(app), id);
    return raw === null ? null : (JSON.parse(raw) as ServedChannel);
  }

  async listChannels(app: string): Promise<ServedChannel[]> {
    const all = await this.redis.hgetall(this.channelsKey(app));
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as ServedChannel)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The number of channels that existed and were removed. */
  async removeChannels(app: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.redis.hdel(this.channelsKey(app), ...ids);
  }
}
