// The environment each service reads, taken from the code itself: the config fields a service declares (printed by
// its own entry point with --print-config) plus any variable read straight from process.env in the sources it is
// built from. A service or a variable added later is covered without touching these checks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './repo';

export interface ServiceVariable {
  env: string;
  describe: string;
  /** No default: a deployment must set it. */
  required: boolean;
  default?: unknown;
  /** A family of variables, every name that starts with `env` (e.g. SUBPACK_NOTIFY_SECRET_<name>). */
  prefix?: boolean;
}

/** Whether a service reads the variable `name`: one of its variables, or one of a family it reads by prefix. */
export function readsVariable(variables: readonly ServiceVariable[], name: string): boolean {
  return variables.some((v) => (v.prefix ? name.startsWith(v.env) && name.length > v.env.length : v.env === name));
}

const cache = new Map<string, ServiceVariable[]>();

/** The variables `services/<name>` reads: its declared config fields, then direct process.env reads (never required). */
export function serviceVariables(name: string): ServiceVariable[] {
  const known = cache.get(name);
  if (known) return known;
  const main = join(ROOT, 'services', name, 'dist', 'main.js');
  const run = spawnSync(process.execPath, [main, '--print-config'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH } });
  if (run.status !== 0) throw new Error(`${main} --print-config exited ${run.status ?? run.signal}: ${run.stderr}`);
  const declared = JSON.parse(run.stdout) as ServiceVariable[];
  const reads = directEnvReads(join(ROOT, 'services', name));
  const direct = [...reads.names]
    .filter((env) => !declared.some((v) => v.env === env))
    .map((env) => ({ env, describe: 'read directly from the environment', required: false }));
  const families = [...reads.prefixes].map((env) => ({ env, describe: 'a family of variables read by prefix', required: false, prefix: true }));
  const all = [...declared, ...direct, ...families];
  cache.set(name, all);
  return all;
}

/**
 * What the service's own start-up check says of an environment (`--check-config`: the same validation a start runs,
 * without connecting anywhere): one line per problem, none when the service would start with it.
 */
export function configProblems(service: string, env: Readonly<Record<string, string>>): string[] {
  const main = join(ROOT, 'services', service, 'dist', 'main.js');
  const run = spawnSync(process.execPath, [main, '--check-config'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH, ...env } });
  if (run.status === 0) return [];
  // EX_CONFIG: the service names each problem on a line of its own.
  if (run.status === 78) return run.stderr.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('- ')).map((line) => line.slice(2));
  throw new Error(`${main} --check-config exited ${run.status ?? run.signal}: ${run.stderr}`);
}

/** The value a service runs with: what the environment sets, else the variable's default; undefined if it does not read it. */
export function effectiveValue(service: string, env: Readonly<Record<string, string>>, name: string): string | undefined {
  const v = serviceVariables(service).find((x) => x.env === name);
  if (!v) return undefined;
  const d = v.default;
  // Only scalar defaults have one textual form; a parsed list (retry tiers) is not compared here.
  return env[name] ?? (typeof d === 'number' || typeof d === 'string' || typeof d === 'boolean' ? String(d) : undefined);
}

/** What bounds how long a service holds a delivery: its SIGTERM drain and its handler deadline. */
export const DELIVERY_TIME_VARIABLES = ['SUBPACK_DRAIN_TIMEOUT_MS', 'SUBPACK_HANDLER_TIMEOUT_MS'];

/**
 * The longest a service may hold a delivery, as its environment sets the variables above (those it does not read
 * count as 0): its stop grace period and the broker's consumer_timeout must outlast it.
 */
export function longestDeliveryMs(service: string, env: Readonly<Record<string, string>>): number {
  return Math.max(...DELIVERY_TIME_VARIABLES.map((name) => Number(effectiveValue(service, env, name) ?? 0)));
}

/** The non-test TypeScript sources of a package (tests and test-support are not part of what runs). */
function runtimeSources(packageDir: string): string[] {
  const files: string[] = [];
  const scan = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'test-support') scan(path);
      } else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) files.push(path);
    }
  };
  if (existsSync(join(packageDir, 'src'))) scan(join(packageDir, 'src'));
  return files;
}

/**
 * The workspace packages a package's running code imports, transitively, by folder: a dependency declared only for
 * tests (imported from *.test.ts or test-support) does not count.
 */
function workspaceClosure(dir: string, seen = new Set<string>()): Set<string> {
  if (seen.has(dir)) return seen;
  seen.add(dir);
  const code = runtimeSources(dir).map((file) => readFileSync(file, 'utf8'));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    if (!dep.startsWith('@subpack/') || !code.some((text) => text.includes(`'${dep}'`))) continue;
    const depDir = join(ROOT, 'libs', dep.slice('@subpack/'.length));
    if (existsSync(join(depDir, 'package.json'))) workspaceClosure(depDir, seen);
  }
  return seen;
}

/**
 * `process.env.NAME`; `env.NAME` or `env, 'NAME'` where code takes the environment as a parameter (`env =
 * process.env`) and reads it directly or through a helper.
 */
const ENV_READ = /\benv(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]|\s*,\s*['"]([A-Z][A-Z0-9_]*)['"])/g;
/** Code that walks the whole environment (to pick a family of variables by prefix). */
const ENV_ITERATION = /Object\.(?:entries|keys)\(\s*(?:process\.)?env\s*\)/;
/** In such code, a string constant ending in '_' names the family, e.g. 'SUBPACK_NOTIFY_SECRET_'. */
const ENV_PREFIX = /['"]([A-Z][A-Z0-9]*_(?:[A-Z0-9]+_)*)['"]/g;

/** Variables the running code of a package and the workspace packages it imports reads straight from the environment. */
export function directEnvReads(packageDir: string): { names: Set<string>; prefixes: Set<string> } {
  const names = new Set<string>();
  const prefixes = new Set<string>();
  for (const dir of workspaceClosure(packageDir)) {
    for (const file of runtimeSources(dir)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(ENV_READ)) names.add((m[1] ?? m[2] ?? m[3])!);
      if (ENV_ITERATION.test(text)) for (const m of text.matchAll(ENV_PREFIX)) prefixes.add(m[1]!);
    }
  }
  return { names, prefixes };
}
