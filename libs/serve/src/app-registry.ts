import type { Redis } from 'ioredis';
import { CHANNEL_FORMATS, type ChannelFormat } from '@subpack/apk';
import { DEFAULT_NAME_TEMPLATE, PackInputError, checkNameTemplate, validateChannels, type ChannelSpec, type Extras } from '@subpack/pack';
import { parseStorageUrl, StorageUrlError } from '@subpack/storage';

/** What an app serves: one master, the format its channels are written in, and the file name users see. */
export interface AppSettings {
  master: string;
  format: ChannelFormat;
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

/** An app name is a URL path segment and part of Redis key names. */
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class RegistryInputError extends PackInputError {}

export function checkAppName(name: string): void {
  if (!APP_NAME.test(name)) {
    throw new RegistryInputError(`app name ${JSON.stringify(name)} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
}

/** Fills defaults and refuses anything a download could trip over later, naming the field. */
export function checkAppSettings(input: Partial<AppSettings> & { master?: unknown }): AppSettings {
  if (typeof input.master !== 'string') throw new RegistryInputError('app: master is required (file:///abs/path.apk, s3://bucket/key or oss://bucket/key)');
  try {
    parseStorageUrl(input.master, 'master');
  } catch (err) {
    if (err instanceof StorageUrlError) throw new RegistryInputError(err.message);
    throw err;
  }
  const format = input.format ?? 'auto';
  if (!(CHANNEL_FORMATS as readonly string[]).includes(format)) {
    throw new RegistryInputError(`app: format must be one of ${CHANNEL_FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
  }
  const naming = input.naming ?? DEFAULT_NAME_TEMPLATE;
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
  return { ...(value as Extras) };
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

  async putApp(name: string, settings: AppSettings): Promise<ServedApp> {
    checkAppName(name);
    const app: ServedApp = { name, ...settings, updatedAt: new Date().toISOString() };
    await this.redis.hset(this.appsKey(), name, JSON.stringify(app));
    return app;
  }

  async getApp(name: string): Promise<ServedApp | null> {
    if (!APP_NAME.test(name)) return null;
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
    const [[, removed] = []] = (await this.redis.multi().hdel(this.appsKey(), name).del(this.channelsKey(name)).exec()) ?? [];
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
    if (!APP_NAME.test(app)) return null;
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
