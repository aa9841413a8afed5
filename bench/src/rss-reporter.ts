// Preloaded with `node -r` into a measured process: reports its peak RSS when it exits.
import { writeSync } from 'node:fs';

const fd = Number(process.env.SUBPACK_RSS_FD ?? 2);
process.on('exit', () => {
  writeSync(fd, `\nSUBPACK_PEAK_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
