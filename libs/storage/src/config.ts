import { readFileSync } from 'node:fs';
import { ConfigError, bool, loadConfig, optionalStr, positive, url, type ConfigOf, type Field } from '@subpack/config';
import { BadInputError } from '@subpack/rules';

/** Minimum size of every part but the last: 5 MiB on S3 and the stores that copy its API (MinIO, COS, R2, KS3). */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
/** Aliyun OSS accepts parts down to 100 KB. */
export const OSS_MIN_PART_BYTES = 100 * 1024;
const MIB = 1024 * 1024;

export type ObjectScheme = 's3' | 'oss';

export interface StoreCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Everything needed to talk to one bucket: where the store is, how to sign, and what it can do. */
export interface StoreSettings {
  scheme: ObjectScheme;
  endpoint: string | undefined;
  region: string | undefined;
  forcePathStyle: boolean;
  /** Explicit keys; undefined means the provider's default chain (environment, profiles, instance roles). */
  credentials: StoreCredentials | undefined;
  /** The store implements UploadPartCopy with a byte range. */
  partCopy: boolean;
  /** The store honours a copy-source-if-match on part copies (Cloudflare R2 ignores it). */
  conditionalCopy: boolean;
  minPartBytes: number;
  /** Part size of the streamed path. */
  partBytes: number;
  /** Parts of one streamed upload in flight at once. */
  concurrency: number;
  /** Unfinished uploads older than this, for a key being written, are aborted. */
  staleUploadMs: number;
  /**
   * How long a delivery waits for the part copy of an unfinished upload to show up before copying again: a killed
   * uploader's copy goes on inside the store. Longer for a longer prefix (see ObjectTarget).
   */
  pendingCopyWaitMs: number;
}

/** The base of pendingCopyWaitMs: a crash between starting an upload and its copy costs each such channel this once. */
export const PENDING_COPY_WAIT_MS = 20_000;

/** One entry of the storage profile file (SUBPACK_STORAGE_PROFILES). */
export interface StoreProfile {
  /** The bucket URL (or bucket URL plus key prefix) the entry applies to, e.g. "s3://releases" or "oss://apks/cn". */
  match: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  partCopy?: boolean;
  conditionalCopy?: boolean;
  minPartBytes?: number;
}

export class StorageConfigError extends BadInputError {
  override readonly name = 'StorageConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

const PROFILE_KEYS: Record<keyof StoreProfile, 'string' | 'boolean' | 'number'> = {
  match: 'string',
  endpoint: 'string',
  region: 'string',
  forcePathStyle: 'boolean',
  accessKeyId: 'string',
  secretAccessKey: 'string',
  partCopy: 'boolean',
  conditionalCopy: 'boolean',
  minPartBytes: 'number',
};

/** Reads and checks the profile file. Errors name the file, the entry and the field, never a field's value. */
export function parseProfiles(text: string, file: string): StoreProfile[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StorageConfigError(`${file}: not JSON (${(err as Error).message})`);
  }
  const list = (doc as { stores?: unknown } | null)?.stores;
  if (!Array.isArray(list)) throw new StorageConfigError(`${file}: expected {"stores": [...]}`);
  return list.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw new StorageConfigError(`${file}: stores[${i}] is not an object`);
    for (const [key, value] of Object.entries(entry)) {
      const type = PROFILE_KEYS[key as keyof StoreProfile];
      if (!type) throw new StorageConfigError(`${file}: stores[${i}] has unknown field ${JSON.stringify(key)}`);
      if (typeof value !== type) throw new StorageConfigError(`${file}: stores[${i}].${key} must be a ${type}`);
    }
    const profile = entry as StoreProfile;
    if (!/^(s3|oss):\/\/[^/]+/.test(profile.match ?? '')) {
      throw new StorageConfigError(`${file}: stores[${i}].match must be a bucket URL such as s3://bucket or oss://bucket/prefix`);
    }
    if ((profile.accessKeyId === undefined) !== (profile.secretAccessKey === undefined)) {
      throw new StorageConfigError(`${file}: stores[${i}] must set both accessKeyId and secretAccessKey, or neither`);
    }
    return profile;
  });
}

const profileCache = new Map<string, StoreProfile[]>();

/** Read once per file: a service checks it at start, and every later task uses what was checked. */
function loadProfileFile(file: string): StoreProfile[] {
  let cached = profileCache.get(file);
  if (!cached) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new StorageConfigError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    cached = parseProfiles(text, file);
    profileCache.set(file, cached);
  }
  return cached;
}

const optionalUrl = (env: string, describe: string): Field<string> => ({ ...url(env, undefined, ['http:', 'https:']), describe, optional: true });

/**
 * The object-storage settings, declared like every other setting: the packer, the uploader and serve list them in
 * --print-config and check them at start (a bad value stops the service with exit 78, before any task could meet
 * it), and the CLI reads the same fields.
 */
export const STORAGE_CONFIG = {
  storageProfiles: {
    env: 'SUBPACK_STORAGE_PROFILES',
    describe: 'path of a JSON storage profile file {"stores": [...]}',
    optional: true,
    parse: loadProfileFile,
  } as Field<StoreProfile[]>,
  uploadPartMb: positive('SUBPACK_UPLOAD_PART_MB', 16, 'MiB (part size of a streamed upload)'),
  uploadConcurrency: positive('SUBPACK_UPLOAD_CONCURRENCY', 4, 'parts of one streamed upload in flight'),
  staleUploadHours: positive('SUBPACK_STALE_UPLOAD_HOURS', 24, 'hours after which an unfinished upload of a key being written is aborted'),
  s3ForcePathStyle: bool('SUBPACK_S3_FORCE_PATH_STYLE', false),
  awsEndpointUrlS3: optionalUrl('AWS_ENDPOINT_URL_S3', 'an S3-compatible endpoint URL, e.g. http://minio:9000'),
  awsEndpointUrl: optionalUrl('AWS_ENDPOINT_URL', 'an S3-compatible endpoint URL (when AWS_ENDPOINT_URL_S3 is unset)'),
  awsRegion: optionalStr('AWS_REGION', 'the S3 region'),
  awsDefaultRegion: optionalStr('AWS_DEFAULT_REGION', 'the S3 region (when AWS_REGION is unset)'),
  awsAccessKeyId: optionalStr('AWS_ACCESS_KEY_ID', 'S3 access key id (with AWS_SECRET_ACCESS_KEY; unset: the AWS default chain)'),
  awsSecretAccessKey: optionalStr('AWS_SECRET_ACCESS_KEY', 'S3 secret access key', { secret: true }),
  ossAccessKeyId: optionalStr('ALIBABA_CLOUD_ACCESS_KEY_ID', 'OSS access key id (with ALIBABA_CLOUD_ACCESS_KEY_SECRET)'),
  ossAccessKeySecret: optionalStr('ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'OSS access key secret', { secret: true }),
  ossRegion: optionalStr('OSS_REGION', 'the OSS region, e.g. cn-hangzhou'),
  ossEndpoint: optionalStr('OSS_ENDPOINT', "the OSS endpoint (unset: the region's public one)"),
};

export type StorageConfig = ConfigOf<typeof STORAGE_CONFIG>;

/**
 * The storage settings in `env`, through STORAGE_CONFIG. A service has checked them at start, so this cannot fail
 * there; for the CLI a bad value is its user's input, refused naming the variable.
 */
export function storageConfig(env: Env = process.env): StorageConfig {
  try {
    return loadConfig(STORAGE_CONFIG, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new StorageConfigError(err.problems.join('; '));
    throw err;
  }
}

/** The profile entry with the longest `match` that is a prefix of `url` on a path-segment boundary. */
function profileFor(profiles: readonly StoreProfile[], url: string): StoreProfile | undefined {
  let best: StoreProfile | undefined;
  for (const p of profiles) {
    const m = p.match.replace(/\/+$/, '');
    if ((url === m || url.startsWith(`${m}/`)) && (!best || m.length > best.match.length)) best = p;
  }
  return best;
}

/**
 * Settings for the bucket of `url` (s3://bucket/... or oss://bucket/...): a matching profile entry wins field by
 * field over the provider's environment variables (AWS_* for S3, ALIBABA_CLOUD_* and OSS_* for OSS).
 */
export function storeSettings(scheme: ObjectScheme, bucket: string, key: string, env: Env = process.env): StoreSettings {
  const config = storageConfig(env);
  const profile = profileFor(config.storageProfiles ?? [], `${scheme}://${bucket}/${key}`);
  const common = {
    partBytes: Math.round(config.uploadPartMb * MIB),
    concurrency: Math.round(config.uploadConcurrency),
    staleUploadMs: config.staleUploadHours * 3600 * 1000,
    pendingCopyWaitMs: PENDING_COPY_WAIT_MS,
    partCopy: profile?.partCopy ?? true,
    conditionalCopy: profile?.conditionalCopy ?? true,
  };
  const profileKeys = profile?.accessKeyId !== undefined && profile.secretAccessKey !== undefined
    ? { accessKeyId: profile.accessKeyId, secretAccessKey: profile.secretAccessKey }
    : undefined;
  if (scheme === 's3') {
    const envKeys = config.awsAccessKeyId && config.awsSecretAccessKey
      ? { accessKeyId: config.awsAccessKeyId, secretAccessKey: config.awsSecretAccessKey }
      : undefined;
    return {
      scheme,
      endpoint: profile?.endpoint ?? config.awsEndpointUrlS3 ?? config.awsEndpointUrl,
      region: profile?.region ?? config.awsRegion ?? config.awsDefaultRegion,
      forcePathStyle: profile?.forcePathStyle ?? config.s3ForcePathStyle,
      credentials: profileKeys ?? envKeys,
      minPartBytes: profile?.minPartBytes ?? S3_MIN_PART_BYTES,
      ...common,
    };
  }
  const envKeys = config.ossAccessKeyId && config.ossAccessKeySecret
    ? { accessKeyId: config.ossAccessKeyId, secretAccessKey: config.ossAccessKeySecret }
    : undefined;
  return {
    scheme,
    endpoint: profile?.endpoint ?? config.ossEndpoint,
    region: profile?.region ?? config.ossRegion,
    forcePathStyle: profile?.forcePathStyle ?? false,
    credentials: profileKeys ?? envKeys,
    minPartBytes: profile?.minPartBytes ?? OSS_MIN_PART_BYTES,
    ...common,
  };
}

/**
 * Whether any OSS bucket can be reached: ali-oss has no default credential chain and V4 signing needs a region, so
 * without keys and a region from the environment or a profile entry, oss:// is not served at all.
 */
export function ossConfigured(env: Env = process.env): boolean {
  const config = storageConfig(env);
  const fromEnv = Boolean(config.ossAccessKeyId && config.ossAccessKeySecret && config.ossRegion);
  return fromEnv || (config.storageProfiles ?? []).some((p) => p.match.startsWith('oss://') && p.accessKeyId !== undefined && p.region !== undefined);
}

/** Two buckets with the same identity live in one store, so a part can be copied from one to the other. */
export function storeIdentity(s: StoreSettings): string {
  return [s.scheme, s.endpoint ?? 'default', s.region ?? '', s.credentials?.accessKeyId ?? 'chain'].join('|');
}

/** Where a store is, for messages: its endpoint without user info, or the provider's default for the region. */
export function storeWhere(s: StoreSettings): string {
  if (s.endpoint) {
    try {
      const u = new URL(s.endpoint);
      return `endpoint ${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
    } catch {
      return 'the configured endpoint';
    }
  }
  const provider = s.scheme === 's3' ? 'S3' : 'OSS';
  return `the ${provider} endpoint${s.region ? ` of region ${s.region}` : ''}`;
}

/** Values that must never appear in a message. */
export function secretsOf(s: StoreSettings): string[] {
  return s.credentials ? [s.credentials.secretAccessKey] : [];
}
