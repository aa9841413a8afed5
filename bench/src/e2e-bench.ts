// npm run bench:e2e: one task of CHANNELS channels of a MEGABYTES master through the broker to a file:// target, first
// with 1 packer + 1 uploader, then with 2 + 2 (the uploader does the writing, so it scales with the packers), each
// run with 1 retry-scheduler and its own vhost, Redis prefix and empty target. Measures channels/s from publish to
// the task.completed event, against `subpack pack` of the same master and channels to the same disk in the same run,
// and the pipeline's CPU per channel: its services, the broker and Redis.
import { readFile, readdir, statfs, stat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  channelIds,
  E2eStack,
  fileTargetUrl,
  fileUrl,
  listTarget,
  packTask,
  rabbitmqctl,
  runChecked,
  storedChannels,
  uniqueTaskId,
} from '@subpack/e2e';
import { benchMaster, fmt, median, timed, timedSubpack } from './measure';
import { NEEDS, preflight } from './preflight';

const CHANNELS = Number(process.env.SUBPACK_BENCH_CHANNELS ?? 2000);
const MEGABYTES = Number(process.env.SUBPACK_BENCH_MB ?? 2);
const CLI_RUNS = Number(process.env.SUBPACK_BENCH_CLI_RUNS ?? 3);
/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;
const BATCH_SIZE = Number(process.env.SUBPACK_BENCH_BATCH_SIZE ?? 25);
const SCALES = [1, 2];
const TIMEOUT_MS = Number(process.env.SUBPACK_BENCH_TIMEOUT_S ?? 1800) * 1000;

interface RunResult {
  processes: number;
  seconds: number;
  channelsPerSecond: number;
  channelsPerProcess: Map<string, number>;
  cpu: CpuSplit;
}

/** CPU seconds spent during one run, by who spent them. */
interface CpuSplit {
  services: number;
  broker: number;
  redis: number;
}

/** user + system CPU seconds a process has used so far (0 once it is gone). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces) start at its closing parenthesis; utime and stime are the
  // 14th and 15th fields of the whole line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / CLOCK_TICKS_PER_SECOND;
}

/** The broker's and Redis's own process ids, asked of them rather than guessed from the process table. */
async function enginePids(): Promise<{ broker: number; redis: number }> {
  const broker = Number((await rabbitmqctl(['eval', 'list_to_integer(os:getpid()).'])).trim());
  const info = (await runChecked('redis-cli', ['-u', process.env.SUBPACK_E2E_REDIS_URL ?? 'redis://127.0.0.1:6379', 'info', 'server'])).stdout;
  const redis = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (!Number.isInteger(broker) || !Number.isInteger(redis)) throw new Error(`cannot find the broker's (${broker}) or Redis's (${redis}) process id`);
  return { broker, redis };
}

async function cpuOf(pids: readonly number[]): Promise<number> {
  return (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
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

async function runOnce(master: string, masterBytes: number, processes: number, engines: { broker: number; redis: number }): Promise<RunResult> {
  const stack = await E2eStack.create(`bench${processes}`, { masterDirs: [dirname(master)] });
  try {
    await requireDiskSpace(stack.workDir, masterBytes * CHANNELS);
    const targetDir = join(stack.workDir, 'target');
    await mkdir(targetDir);
    const packers = Array.from({ length: processes }, () => stack.start('packer', { SUBPACK_BATCH_SIZE: String(BATCH_SIZE) }));
    const uploaders = Array.from({ length: processes }, () => stack.start('uploader'));
    await Promise.all([...packers, ...uploaders, stack.start('retry-scheduler')]);
    const tap = await stack.eventTap();

    const servicePids = stack.services.map((s) => s.pid).filter((pid): pid is number => pid !== undefined);
    const cpuBefore = { services: await cpuOf(servicePids), broker: await cpuSeconds(engines.broker), redis: await cpuSeconds(engines.redis) };
    const taskId = uniqueTaskId(`bench${processes}`);
    const started = Date.now();
    await stack.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(CHANNELS) }));
    const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', TIMEOUT_MS);
    const seconds = (completed!.receivedAt - started) / 1000;
    const cpu = {
      services: (await cpuOf(servicePids)) - cpuBefore.services,
      broker: (await cpuSeconds(engines.broker)) - cpuBefore.broker,
      redis: (await cpuSeconds(engines.redis)) - cpuBefore.redis,
    };

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
    return { processes, seconds, channelsPerSecond: CHANNELS / seconds, channelsPerProcess, cpu };
  } finally {
    await stack.cleanup(); // removes the target with its CHANNELS copies
    await timed('sync', []); // the next run must not pay for this run's write-back
  }
}

/**
 * `subpack pack` of the same master and channels into an empty directory next to where the pipeline writes (the same
 * disk), CLI_RUNS times; the median counts.
 */
async function cliRuns(master: string, masterBytes: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const work = await mkdtemp(join(dirname(master), 'cli-'));
  try {
    await requireDiskSpace(work, masterBytes * CHANNELS);
    const channelsFile = join(work, 'channels.txt');
    await writeFile(channelsFile, `${channelIds(CHANNELS).join('\n')}\n`);
    const runs: { seconds: number; cpuSeconds: number }[] = [];
    for (let i = 0; i < CLI_RUNS; i++) {
      const out = join(work, `out-${i}`);
      const run = await timedSubpack(['pack', master, '--channels', channelsFile, '--out', out, '--quiet']);
      const files = (await readdir(out)).filter((f) => f.endsWith('.apk')).length;
      if (files !== CHANNELS) throw new Error(`subpack pack wrote ${files} APK files for ${CHANNELS} channels`);
      runs.push({ seconds: run.seconds, cpuSeconds: run.cpuSeconds ?? NaN });
      await rm(out, { recursive: true, force: true });
      await timed('sync', []);
    }
    return { seconds: median(runs.map((r) => r.seconds)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await preflight('bench:e2e', [NEEDS.android, NEEDS.cp, NEEDS.rabbitmq, NEEDS.redis]);
  process.stderr.write(`building a ${MEGABYTES} MB signed master (cached after the first run)...\n`);
  const master = await benchMaster(MEGABYTES);
  const masterBytes = (await stat(master)).size;
  await readFile(master); // page cache: every run reads the master from memory
  const engines = await enginePids();

  process.stderr.write(`run: subpack pack, ${CHANNELS} channels, ${CLI_RUNS} times...\n`);
  const cli = await cliRuns(master, masterBytes);
  process.stderr.write(`  ${fmt(cli.seconds, 2)} s (median), ${fmt(CHANNELS / cli.seconds, 1)} channels/s\n`);

  const results: RunResult[] = [];
  for (const processes of SCALES) {
    process.stderr.write(`run: ${processes} packer(s) + ${processes} uploader(s), ${CHANNELS} channels...\n`);
    const result = await runOnce(master, masterBytes, processes, engines);
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
  console.log(`subpack pack of the same master and channels to the same disk: ${fmt(cli.seconds, 2)} s (median of ${CLI_RUNS}), ${fmt(CHANNELS / cli.seconds, 1)} channels/s`);
  console.log('CPU per channel: user + system time of the services (packers, uploaders, retry-scheduler), the broker and Redis');
  console.log('while the task ran (the broker and Redis are shared: anything else using them counts too)\n');
  console.log('| packers + uploaders | seconds | channels/s | ratio to 1+1 | pipeline / subpack pack | CPU ms/channel: services | broker | Redis | total |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const perChannel = (s: number): string => fmt((s * 1000) / CHANNELS, 2);
  for (const r of results) {
    const total = r.cpu.services + r.cpu.broker + r.cpu.redis;
    console.log(
      `| ${r.processes} + ${r.processes} | ${fmt(r.seconds, 1)} | ${fmt(r.channelsPerSecond, 2)} | ${fmt(r.channelsPerSecond / base.channelsPerSecond, 2)}x ` +
        `| ${fmt(cli.seconds / r.seconds, 2)}x | ${perChannel(r.cpu.services)} | ${perChannel(r.cpu.broker)} | ${perChannel(r.cpu.redis)} | ${perChannel(total)} |`,
    );
  }
  console.log(`| subpack pack | ${fmt(cli.seconds, 1)} | ${fmt(CHANNELS / cli.seconds, 2)} | | 1.00x | ${perChannel(cli.cpuSeconds)} | | | ${perChannel(cli.cpuSeconds)} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
