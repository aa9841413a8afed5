/**
 * Environment configuration checked once at startup. Every problem is collected and reported together, each naming
 * the variable, what it must be and what it was, so a person can fix the deployment in one go.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

export interface Field<T> {
  env: string;
  describe: string;
  parse(raw: string): T;
  default?: T;
  /** Holds secrets: a bad value is reported without echoing it. */
  secret?: boolean;
  /** May stay unset (the value is then undefined) although it has no default. */
  optional?: boolean;
}

export const str = (env: string, def?: string, describe = 'a string'): Field<string> => ({
  env,
  describe,
  parse: (raw) => {
    if (!raw.trim()) throw new Error('is empty');
    return raw;
  },
  ...(def !== undefined ? { default: def } : {}),
});

export const int = (env: string, def: number | undefined, min: number, max: number): Field<number> => ({
  env,
  describe: `an integer from ${min} to ${max}`,
  parse: (raw) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
    return n;
  },
  ...(def !== undefined ? { default: def } : {}),
});

export const url = (env: string, def: string | undefined, protocols: string[]): Field<string> => ({
  env,
  describe: `a ${protocols.join('/')} URL`,
  parse: (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error(`must be a URL like ${protocols[0]}//host:port`);
    }
    if (!protocols.includes(u.protocol)) throw new Error(`must use ${protocols.join(' or ')}, not ${u.protocol}`);
    return raw;
  },
  ...(def !== undefined ? { default: def } : {}),
});

/**
 * One URL or several, comma-separated: the nodes of one clustered service (e.g. every RabbitMQ node), tried in turn.
 * Each must parse and use one of `protocols`; the value is the list.
 */
export const urlList = (env: string, def: string, protocols: string[]): Field<string[]> => {
  const one = url(env, undefined, protocols);
  return {
    env,
    describe: `one ${protocols.join('/')} URL, or several separated by commas (one per cluster node)`,
    parse: (raw) => {
      const items = raw.split(',').map((s) => s.trim());
      if (items.some((s) => s === '')) throw new Error('has an empty entry (comma-separated URLs, one per node)');
      return items.map((item, i) => {
        try {
          return one.parse(item);
        } catch (err) {
          throw new Error(items.length === 1 ? (err as Error).message : `entry ${i + 1} ${(err as Error).message}`);
        }
      });
    },
    default: [def],
  };
};

/** A number above zero, fractions allowed (0.5 hours); `unit` says what it counts, e.g. "MiB". */
export const positive = (env: string, def: number, unit: string): Field<number> => ({
  env,
  describe: `a positive number of ${unit}`,
  parse: (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Error(`must be a positive number of ${unit}`);
    return n;
  },
  default: def,
});

/** `true` or `false`, nothing looser: a typo must not silently mean false. */
export const bool = (env: string, def: boolean): Field<boolean> => ({
  env,
  describe: 'true or false',
  parse: (raw) => {
    if (raw !== 'true' && raw !== 'false') throw new Error('must be true or false');
    return raw === 'true';
  },
  default: def,
});

/** A setting that may stay unset; `secret` keeps a bad value out of the report. */
export const optionalStr = (env: string, describe: string, opts: { secret?: boolean } = {}): Field<string> => ({
  env,
  describe,
  optional: true,
  ...(opts.secret === true ? { secret: true } : {}),
  parse: (raw) => {
    if (!raw.trim()) throw new Error('is empty');
    return raw;
  },
});

export const oneOf = <T extends string>(env: string, def: T, values: readonly T[]): Field<T> => ({
  env,
  describe: `one of ${values.join(', ')}`,
  parse: (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
    return raw as T;
  },
  default: def,
});

/** Durations like 500ms, 5s, 30s, 5m, 1h. */
export function parseDuration(raw: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(raw.trim());
  if (!m) throw new Error(`"${raw}" is not a duration like 500ms, 5s, 5m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export const durations = (env: string, def: string): Field<{ name: string; ttlMs: number }[]> => ({
  env,
  describe: 'a comma-separated list of durations such as 5s,30s,5m',
  parse: (raw) => {
    const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (list.length === 0) throw new Error('must list at least one duration');
    return list.map((name) => ({ name, ttlMs: parseDuration(name) }));
  },
  default: durations0(def),
});

function durations0(def: string): { name: string; ttlMs: number }[] {
  return def.split(',').map((name) => ({ name, ttlMs: parseDuration(name) }));
}

type Spec = Record<string, Field<unknown>>;

export interface ConfigVariable {
  env: string;
  describe: string;
  required: boolean;
  default?: unknown;
}

/** What a spec reads, for `--print-config`: one entry per variable, required ones without a default. */
export function describeConfig(spec: Spec): ConfigVariable[] {
  return Object.values(spec).map((f) => ({
    env: f.env,
    describe: f.describe,
    required: f.default === undefined && f.optional !== true,
    ...(f.default !== undefined ? { default: f.default } : {}),
  }));
}
export type ConfigOf<S extends Spec> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export function loadConfig<S extends Spec>(spec: S, env: Env = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(spec)) {
    const raw = env[field.env];
    if (raw === undefined || raw === '') {
      if (field.default === undefined && field.optional !== true) problems.push(`${field.env} is required (${field.describe})`);
      else out[key] = field.default;
      continue;
    }
    try {
      out[key] = field.parse(raw);
    } catch (err) {
      problems.push(`${field.env}=${field.secret === true ? '(value hidden)' : JSON.stringify(raw)} ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}
