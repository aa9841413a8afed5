import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildUnsignedApk, fixtureKeys, makeTempDir, signApk } from '@subpack/testing';

export const ROOT = resolve(__dirname, '..', '..');
export const SUBPACK_BIN = join(ROOT, 'cli', 'bin', 'subpack.js');
const RSS_REPORTER = join(__dirname, 'rss-reporter.js');

export interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
  peakRssKb?: number;
  /** User + system CPU of a process run under the reporter. */
  cpuSeconds?: number;
}

/** Runs a command to completion, timing it by wall clock; fails loudly on a non-zero exit. */
export function timed(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; discardStdout?: boolean } = {}): Promise<Timed> {
  return new Promise((res, rej) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) return rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`));
      const m = /SUBPACK_PEAK_RSS_KB=(\d+)/.exec(stderr);
      const cpu = /SUBPACK_CPU_US=(\d+)/.exec(stderr);
      res({ seconds, stdout, stderr, ...(m ? { peakRssKb: Number(m[1]) } : {}), ...(cpu ? { cpuSeconds: Number(cpu[1]) / 1e6 } : {}) });
    });
  });
}

/** Runs the subpack CLI under the RSS and CPU reporter. */
export function timedSubpack(args: string[]): Promise<Timed> {
  return timed(process.execPath, ['-r', RSS_REPORTER, SUBPACK_BIN, ...args]);
}

export function benchCacheDir(): string {
  return process.env.SUBPACK_BENCH_CACHE ?? join(tmpdir(), 'subpack-bench');
}

/**
 * A signed (v1+v2+v3) master of about `megabytes` MB, made of stored random assets, built once and cached: the bench
 * fixture is generated, never committed.
 */
export async function benchMaster(megabytes: number): Promise<string> {
  const target = join(benchCacheDir(), `master-${megabytes}m.apk`);
  if (existsSync(target)) return target;
  await mkdir(benchCacheDir(), { recursive: true });
  const work = await makeTempDir('subpack-bench-build-');
  try {
    const keys = await fixtureKeys();
    const parts = Math.max(1, Math.ceil(megabytes / 50));
    const bytes = Math.floor((megabytes * 1024 * 1024) / parts);
    const unsigned = await buildUnsignedApk(work, {
      package: 'com.example.bench',
      versionCode: 1,
      versionName: '1.0.0',
      minSdk: 21,
      targetSdk: 33,
      label: 'Bench',
      assets: Array.from({ length: parts }, (_, i) => ({ name: `blob-${i}.bin`, bytes })),
    });
    const signed = await signApk(unsigned, join(work, 'signed.apk'), keys.main, { v1: true, v2: true, v3: true });
    await rename(signed, target);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return target;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fmt(n: number, digits = 3): string {
  return n.toFixed(digits);
}
