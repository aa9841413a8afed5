// npm run bench:e2e: one task of CHANNELS channels of a 300 MB master through the broker to a file:// target, first
// with 1 packer + 1 uploader, then with 2 + 2 (the uploader does the writing, so it scales with the packers), each
// run with 1 retry-scheduler and its own vhost, Redis prefix and empty target. Measures channels/s from publish to
// the task.completed event.
import { readFile, statfs, stat, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  channelIds,
  E2eStack,
  fileTargetUrl,
  fileUrl,
  listTarget,
  packTask,
  storedChannels,
  uniqueTaskId,
} from '@subpack/e2e';
import { benchMaster, fmt, timed } from './measure';
import { NEEDS, preflight } from './preflight';

const CHANNELS = Number(process.env.SUBPACK_BENCH_CHANNELS ?? 200);
const MEGABYTES = Number(process.env.SUBPACK_BENCH_MB ?? 300);
const BATCH_SIZE = Number(process.env.SUBPACK_BENCH_BATCH_SIZE ?? 25);
const SCALES = [1, 2];
const TIMEOUT_MS = Number(process.env.SUBPACK_BENCH_TIMEOUT_S ?? 1800) * 1000;

interface RunResult {
  processes: number;
  seconds: number;
  channelsPerSecond: number;
  channelsPerProcess: Map<string, number>;
}

/** All CHANNELS copies exist at once in the target: refuse up front rather than fill the disk half-way. */
async function requireDiskSpace(dir: string, bytesNeeded: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < bytesNeeded * 1.05) {
    throw new Error(
      `${(bytesNeeded / 2 ** 30).toFixed(1)} GiB needed in ${dir} for ${CHANNELS} channels of the master, ` +
        `${(free / 2 ** 30).toFixed(1)} GiB free: lower SUBPACK_BENCH_CHANNELS or SUBPACK_BENCH_MB`,
    );
  }
}

async function runOnce(master: string, masterBytes: number, processes: number): Promise<RunResult> {
  const stack = await E2eStack.create(`bench${processes}`, { masterDirs: [dirname(master)] });
  try {
    await requireDiskSpace(stack.workDir, masterBytes * CHANNELS);
    const targetDir = join(stack.workDir, 'target');
    await mkdir(targetDir);
    const packers = Array.from({ length: processes }, () => stack.start('packer', { SUBPACK_BATCH_SIZE: String(BATCH_SIZE) }));
    const uploaders = Array.from({ length: processes }, () => stack.start('uploader'));
    await Promise.all([...packers, ...uploaders, stack.start('retry-scheduler')]);
    const tap = await stack.eventTap();

    const taskId = uniqueTaskId(`bench${processes}`);
    const started = Date.now();
    await stack.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(CHANNELS) }));
    const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', TIMEOUT_MS);
    const seconds = (completed!.receivedAt - started) / 1000;

    // The figure only counts if the work was really done.
    if (completed!.event.status !== 'done' || completed!.event.done !== CHANNELS) {
      throw new Error(`task finished ${JSON.stringify(completed!.event)}\n${stack.describe(tap)}`);
    }
    const stored = storedChannels(tap.messages, taskId).size;
    const files = (await listTarget(targetDir)).filter((f) => f.file.endsWith('.apk')).length;
    if (stored !== CHANNELS || files !== CHANNELS) throw new Error(`${stored} channels announced and ${files} APK files for ${CHANNELS} channels`);

    const channelsPerProcess = new Map<string, number>();
    for (const uploader of stack.services.filter((s) => s.name === 'uploader')) {
      channelsPerProcess.set(uploader.label, (await uploader.metricTotal('subpack_channels_stored_total').catch(() => undefined)) ?? NaN);
    }
    for (const packer of stack.services.filter((s) => s.name === 'packer')) {
      channelsPerProcess.set(packer.label, (await packer.metricTotal('subpack_channels_planned_total').catch(() => undefined)) ?? NaN);
    }
    const exits = await stack.stopAll();
    const bad = [...exits].filter(([, exit]) => exit.code !== 0);
    if (bad.length > 0) throw new Error(`services did not exit 0 on SIGTERM: ${JSON.stringify(bad)}\n${stack.outputs()}`);
    return { processes, seconds, channelsPerSecond: CHANNELS / seconds, channelsPerProcess };
  } finally {
    await stack.cleanup(); // removes the target with its CHANNELS copies
    await timed('sync', []); // the next run must not pay for this run's write-back
  }
}

async function main(): Promise<void> {
  await preflight('bench:e2e', [NEEDS.android, NEEDS.cp, NEEDS.rabbitmq, NEEDS.redis]);
  process.stderr.write(`building a ${MEGABYTES} MB signed master (cached after the first run)...\n`);
  const master = await benchMaster(MEGABYTES);
  const masterBytes = (await stat(master)).size;
  await readFile(master); // page cache: every run reads the master from memory

  const results: RunResult[] = [];
  for (const processes of SCALES) {
    process.stderr.write(`run: ${processes} packer(s) + ${processes} uploader(s), ${CHANNELS} channels...\n`);
    const result = await runOnce(master, masterBytes, processes);
    process.stderr.write(
      `  ${fmt(result.seconds, 1)} s, ${fmt(result.channelsPerSecond, 2)} channels/s; per process: ` +
        `${[...result.channelsPerProcess].map(([label, n]) => `${label}=${n}`).join(' ')}\n`,
    );
    results.push(result);
  }

  const base = results[0]!;
  console.log(
    `\nmaster: ${(masterBytes / 2 ** 20).toFixed(1)} MiB, ${CHANNELS} channels in one task (batch size ${BATCH_SIZE}), ` +
      'file:// target on the local disk; timed from publish to the task.completed event',
  );
  console.log('each run: N packer processes AND N uploader processes (the uploader writes the files, so it scales too), 1 retry-scheduler');
  console.log('| packers + uploaders | seconds | channels/s | ratio to 1+1 |');
  console.log('|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.processes} + ${r.processes} | ${fmt(r.seconds, 1)} | ${fmt(r.channelsPerSecond, 2)} | ${fmt(r.channelsPerSecond / base.channelsPerSecond, 2)}x |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
