// npm run bench: subpack pack against `cp` of the same file, in the same run, on the same page cache, on the disk
// where users write and on tmpfs.
import { mkdir, mkdtemp, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { frameworkResApk } from '@subpack/testing';
import { ROOT, benchMaster, fmt, median, timed, timedSubpack } from './measure';
import { NEEDS, preflight } from './preflight';

const CHANNELS = Number(process.env.SUBPACK_BENCH_CHANNELS ?? 10);
const MEGABYTES = Number(process.env.SUBPACK_BENCH_MB ?? 300);
const ROUNDS = Math.max(6, Number(process.env.SUBPACK_BENCH_ROUNDS ?? 6));
const TARGET_RATIO = 1.2;
const TARGET_RSS_MIB = 150;

/** statfs(2) f_type of the in-memory filesystems. */
const MEMORY_FS_TYPES = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

async function isMemoryFs(dir: string): Promise<boolean> {
  return MEMORY_FS_TYPES.has((await statfs(dir)).type);
}

async function hasRoom(dir: string, bytes: number): Promise<boolean> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize > bytes * 1.5;
}

/**
 * The disk: SUBPACK_BENCH_OUT, else /var/tmp, else the repository's own tmp/ (ignored by git), the first of them that
 * is not an in-memory filesystem. /tmp is not a candidate: on many systems it is tmpfs.
 */
async function diskRoot(bytesNeeded: number): Promise<string> {
  const explicit = process.env.SUBPACK_BENCH_OUT;
  const candidates = explicit ? [explicit] : ['/var/tmp', join(ROOT, 'tmp')];
  for (const dir of candidates) {
    await mkdir(dir, { recursive: true });
    if (!(await isMemoryFs(dir)) && (await hasRoom(dir, bytesNeeded))) return mkdtemp(join(dir, 'subpack-bench-'));
    if (explicit) throw new Error(`SUBPACK_BENCH_OUT=${explicit} is an in-memory filesystem or lacks ${bytesNeeded} bytes`);
  }
  throw new Error(`no disk with ${bytesNeeded} free bytes among ${candidates.join(', ')}; set SUBPACK_BENCH_OUT`);
}

/** tmpfs, for the figure that shows the limit of the page cache alone; null when there is none with room. */
async function tmpfsRoot(bytesNeeded: number): Promise<string | null> {
  try {
    if ((await isMemoryFs('/dev/shm')) && (await hasRoom('/dev/shm', bytesNeeded))) return await mkdtemp(join('/dev/shm', 'subpack-bench-'));
  } catch {
    // no /dev/shm here
  }
  return null;
}

interface Figures {
  where: string;
  cp: number[];
  pack: number[];
  packDigests: number[];
  /** pack / cp of the same round, so both sides met the same machine state. */
  ratios: number[];
  peakRssKb: number;
}

/** `ROUNDS` rounds in `dir`: cp and pack alternate which goes first, and every timed run starts after an untimed sync. */
async function measureIn(where: string, dir: string, master: string): Promise<Figures> {
  const figures: Figures = { where, cp: [], pack: [], packDigests: [], ratios: [], peakRssKb: 0 };
  const channelsFile = join(dir, 'channels.txt');
  await writeFile(channelsFile, Array.from({ length: CHANNELS }, (_, i) => `channel-${i}`).join('\n'));
  const out = join(dir, 'out');
  const reset = async (): Promise<void> => {
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    // Write-back of the previous run goes here, outside the timed region.
    await timed('sync', []);
  };
  const runCp = async (): Promise<number> => {
    await reset();
    let total = 0;
    for (let i = 0; i < CHANNELS; i++) total += (await timed('cp', [master, join(out, `cp-${i}.apk`)])).seconds;
    return total / CHANNELS;
  };
  const runPack = async (extra: string[]): Promise<number> => {
    await reset();
    const r = await timedSubpack(['pack', master, '--out', out, '--channels', channelsFile, ...extra]);
    figures.peakRssKb = Math.max(figures.peakRssKb, r.peakRssKb ?? 0);
    return r.seconds / CHANNELS;
  };
  for (let round = 1; round <= ROUNDS; round++) {
    let cp: number;
    let pack: number;
    if (round % 2 === 1) {
      cp = await runCp();
      pack = await runPack(['--quiet']);
    } else {
      pack = await runPack(['--quiet']);
      cp = await runCp();
    }
    const packDigests = await runPack(['--json']);
    figures.cp.push(cp);
    figures.pack.push(pack);
    figures.packDigests.push(packDigests);
    figures.ratios.push(pack / cp);
    process.stderr.write(`${where} round ${round}: cp ${fmt(cp)} s/ch, pack ${fmt(pack)} s/ch (${fmt(pack / cp, 2)}x), pack --json ${fmt(packDigests)} s/ch\n`);
  }
  await rm(out, { recursive: true, force: true });
  return figures;
}

async function main(): Promise<void> {
  await preflight('bench', [NEEDS.android, NEEDS.cp]);
  process.stderr.write(`building a ${MEGABYTES} MB signed master (cached after the first run)...\n`);
  const master = await benchMaster(MEGABYTES);
  const size = (await stat(master)).size;
  // Warm the page cache so both sides read from memory. Streamed, not readFile: Linux carries a parent's peak RSS
  // into children across fork+exec, so a 300 MB buffer here would show up as the measured process's peak.
  await timed('cat', [master], { discardStdout: true });
  const bytesNeeded = size * (CHANNELS + 1);
  const disk = await diskRoot(bytesNeeded);
  const memory = await tmpfsRoot(bytesNeeded);
  const results: Figures[] = [];
  let smallRssKb = 0;
  let smallSize = 0;
  try {
    results.push(await measureIn(`disk (${disk})`, disk, master));
    if (memory) results.push(await measureIn(`tmpfs (${memory})`, memory, master));
    // Memory must not follow the APK's size: the same job on the 45 MB framework-res.apk.
    const small = await frameworkResApk();
    const channelsFile = join(disk, 'channels.txt');
    const smallRun = await timedSubpack(['pack', small, '--out', join(disk, 'small-out'), '--channels', channelsFile, '--json']);
    smallRssKb = smallRun.peakRssKb ?? 0;
    smallSize = (await stat(small)).size;
  } finally {
    await rm(disk, { recursive: true, force: true });
    if (memory) await rm(memory, { recursive: true, force: true });
  }

  console.log(`\nmaster: ${(size / 1024 / 1024).toFixed(1)} MiB, ${CHANNELS} channels, medians of ${ROUNDS} rounds (process start included)`);
  console.log('| outputs on | cp s/channel | pack s/channel | pack/cp (median of rounds) | pack --json s/channel | pack --json/cp |');
  console.log('|---|---|---|---|---|---|');
  for (const f of results) {
    const cp = median(f.cp);
    console.log(`| ${f.where} | ${fmt(cp)} | ${fmt(median(f.pack))} | ${fmt(median(f.ratios), 2)}x | ${fmt(median(f.packDigests))} | ${fmt(median(f.packDigests) / cp, 2)}x |`);
  }
  const peakRssKb = Math.max(...results.map((f) => f.peakRssKb));
  console.log(`peak RSS on the ${(size / 1024 / 1024).toFixed(0)} MiB master: ${(peakRssKb / 1024).toFixed(1)} MiB`);
  console.log(`peak RSS, pack --json of the ${(smallSize / 1024 / 1024).toFixed(1)} MiB framework-res.apk: ${(smallRssKb / 1024).toFixed(1)} MiB`);
  const diskRatio = median(results[0]!.ratios);
  const ok = diskRatio <= TARGET_RATIO && Math.max(peakRssKb, smallRssKb) / 1024 < TARGET_RSS_MIB;
  console.log(
    ok
      ? `targets met: disk ratio ${fmt(diskRatio, 2)} <= ${TARGET_RATIO}, peak RSS < ${TARGET_RSS_MIB} MiB`
      : `TARGETS MISSED: disk ratio ${fmt(diskRatio, 2)} (target <= ${TARGET_RATIO}), peak RSS ${(Math.max(peakRssKb, smallRssKb) / 1024).toFixed(1)} MiB (target < ${TARGET_RSS_MIB})`,
  );
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
