// Preloaded with `node -r` into a measured process: reports its peak RSS and CPU time when it exits.
import { writeSync } from 'node:fs';

const fd = Number(process.env.SUBPACK_RSS_FD ?? 2);
process.on('exit', () => {
  const usage = process.resourceUsage();
  writeSync(fd, `\nSUBPACK_PEAK_RSS_KB=${usage.maxRSS}\nSUBPACK_CPU_US=${usage.userCPUTime + usage.systemCPUTime}\n`);
});
