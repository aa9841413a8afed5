// npm run bench:memory: how much memory a packer and an uploader need, for sizing their requests and limits. One
// packer and one uploader (with the default prefetch and batch size) take a task of CHANNELS channels of a MEGABYTES
// master through the broker to a file:// target; each process's resident set is read from /proc when it is ready
// (idle) and its peak (VmHWM) once the task has completed.
import { readFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { channelIds, E2eStack, fileTargetUrl, fileUrl, packTask, uniqueTaskId, type ServiceProcess } from '@subpack/e2e';
import { benchMaster, fmt } from './measure';
import { NEEDS, preflight } from './preflight';

const CHANNELS = Number(process.env.SUBPACK_BENCH_CHANNELS ?? 50);
const MEGABYTES = Number(process.env.SUBPACK_BENCH_MB ?? 300);
const TIMEOUT_MS = Number(process.env.SUBPACK_BENCH_TIMEOUT_S ?? 1800) * 1000;

/** A /proc/<pid>/status field in MiB (Linux reports kB). */
async function procMiB(service: ServiceProcess, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${service.pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`${field} missing from /proc/${service.pid}/status`);
  return Number(m[1]) / 1024;
}

async function main(): Promise<void> {
  await preflight('bench:memory', [NEEDS.android, NEEDS.rabbitmq, NEEDS.redis]);
  process.stderr.write(`building a ${MEGABYTES} MB signed master (cached after the first run)...\n`);
  const master = await benchMaster(MEGABYTES);
  const masterBytes = (await stat(master)).size;
  const stack = await E2eStack.create('memory');
  try {
    const targetDir = join(stack.workDir, 'target');
    await mkdir(targetDir);
    const packer = await stack.start('packer');
    const uploader = await stack.start('uploader');
    await stack.start('retry-scheduler');
    const idle = { packer: await procMiB(packer, 'VmRSS'), uploader: await procMiB(uploader, 'VmRSS') };
    const tap = await stack.eventTap();
    const taskId = uniqueTaskId('memory');
    await stack.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(CHANNELS) }));
    const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', TIMEOUT_MS);
    if (completed!.event.status !== 'done' || completed!.event.done !== CHANNELS) {
      throw new Error(`task finished ${JSON.stringify(completed!.event)}\n${stack.describe(tap)}`);
    }
    const peak = { packer: await procMiB(packer, 'VmHWM'), uploader: await procMiB(uploader, 'VmHWM') };
    console.log(`master: ${(masterBytes / 2 ** 20).toFixed(1)} MiB, ${CHANNELS} channels in one task, file:// target; RSS in MiB`);
    console.log('| service | idle RSS | peak RSS during the task |');
    console.log('|---|---|---|');
    for (const name of ['packer', 'uploader'] as const) console.log(`| ${name} | ${fmt(idle[name], 1)} | ${fmt(peak[name], 1)} |`);
  } finally {
    await stack.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
