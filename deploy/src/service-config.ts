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
  const direct = [...directEnvReads(join(ROOT, 'services', name))]
    .filter((env) => !declared.some((v) => v.env === env))
    .map((env) => ({ env, describe: 'read directly from the environment', required: false }));
  const all = [...declared, ...direct];
  cache.set(name, all);
  return all;
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

/** `process.env.NAME`, or `env.NAME` where code takes the environment as a parameter (`env = process.env`). */
const ENV_READ = /\benv(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g;

/** Variables read as (process.)env.NAME in the running code of a package and the workspace packages it imports. */
export function directEnvReads(packageDir: string): Set<string> {
  const names = new Set<string>();
  for (const dir of workspaceClosure(packageDir)) {
    for (const file of runtimeSources(dir)) {
      for (const m of readFileSync(file, 'utf8').matchAll(ENV_READ)) names.add((m[1] ?? m[2])!);
    }
  }
  return names;
}
