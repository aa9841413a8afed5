// npm run bench:serve: `subpack serve` building a channel APK on the fly against nginx serving the same channel APK,
// pre-packed with `subpack pack`, from the same disk, in the same run: 32 concurrent clients on loopback each.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { makeTempDir, removeDir } from '@subpack/testing';
import { benchMaster, fmt, timed, SUBPACK_BIN } from './measure';
import { NGINX, NEEDS, REDIS_URL, preflight } from './preflight';

const CLIENTS = Number(process.env.SUBPACK_BENCH_CLIENTS ?? 32);
const MEGABYTES = Number(process.env.SUBPACK_BENCH_MB ?? 300);
const ROUNDS = Number(process.env.SUBPACK_BENCH_ROUNDS ?? 3);
/** Debian's unprivileged account: nginx runs as it entirely, master included, when the bench runs as root. */
const NOBODY = 65534;

interface Round {
  seconds: number;
  ttfb: number[];
  peakRssKb: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before answering`);
    const ok = await fetch(url, { method: 'HEAD' }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer ${url} within 20 s`);
}

/** The RSS of a process and all its descendants (nginx's master and workers), in kB. */
async function treeRssKb(pid: number): Promise<number> {
  let total = 0;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const children = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const child of children.split(' ').filter(Boolean)) total += await treeRssKb(Number(child));
  }
  return total;
}

/** Runs `clients` curls at once; throughput from wall time, TTFB from curl, RSS sampled every 50 ms. */
async function downloadRound(url: string, clients: number, expectedBytes: number, serverPid: number): Promise<Round> {
  let peakRssKb = await treeRssKb(serverPid);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRssKb = Math.max(peakRssKb, await treeRssKb(serverPid));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const start = process.hrtime.bigint();
  const results = await Promise.all(
    Array.from({ length: clients }, () => timed('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_starttransfer}', url])),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  sampling = false;
  await sampler;
  const ttfb = results.map((r) => {
    const [code, size, first] = r.stdout.trim().split(' ');
    if (code !== '200' || Number(size) !== expectedBytes) throw new Error(`${url}: HTTP ${code}, ${size} of ${expectedBytes} bytes`);
    return Number(first);
  });
  return { seconds, ttfb, peakRssKb };
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)]!;
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  await preflight('bench:serve', [NEEDS.android, NEEDS.nginx, NEEDS.redis]);
  process.stderr.write(`building a ${MEGABYTES} MB signed master (cached after the first run)...\n`);
  const master = await benchMaster(MEGABYTES);
  await timed('cat', [master], { discardStdout: true });
  const work = await makeTempDir('subpack-bench-serve-');
  const prefix = `subpack-bench-serve:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const children: ChildProcess[] = [];
  try {
    const env = { ...process.env, REDIS_URL, SUBPACK_REDIS_PREFIX: prefix, LOG_LEVEL: 'warn' };
    const cli = (args: string[]) => timed(process.execPath, [SUBPACK_BIN, ...args], { env });
    await cli(['serve', 'app', 'add', 'bench', '--master', master]);
    await cli(['serve', 'channel', 'add', 'bench', '--channel', 'bench-channel']);
    const packed = join(work, 'www');
    await cli(['pack', master, '--out', packed, '--channel', 'bench-channel', '--name', '{channel}.apk', '--quiet']);
    const size = (await stat(join(packed, 'bench-channel.apk'))).size;

    const servePort = await freePort();
    const serve = spawn(process.execPath, [SUBPACK_BIN, 'serve', '--port', String(servePort)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(serve);
    const serveUrl = `http://127.0.0.1:${servePort}/apk/bench/bench-channel.apk`;

    const nginxPort = await freePort();
    const conf = join(work, 'nginx.conf');
    await writeFile(
      conf,
      [
        'worker_processes auto;',
        `pid ${join(work, 'nginx.pid')};`,
        `error_log ${join(work, 'nginx-error.log')};`,
        'daemon off;',
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off; sendfile on; tcp_nopush on;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(work, `${t}-temp`)};`),
        `  server { listen 127.0.0.1:${nginxPort}; root ${packed}; }`,
        '}',
      ].join('\n'),
    );
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      await chown(work, NOBODY, NOBODY);
      await chmod(work, 0o755);
    }
    const nginx = spawn(NGINX, ['-c', conf, '-p', work], { stdio: ['ignore', 'ignore', 'inherit'], ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}) });
    children.push(nginx);
    const nginxUrl = `http://127.0.0.1:${nginxPort}/bench-channel.apk`;
    await waitForHttp(nginxUrl, nginx, 'nginx');
    await waitForHttp(`http://127.0.0.1:${servePort}/health/live`, serve, 'subpack serve');

    const idleRssKb = await treeRssKb(serve.pid!);
    // The first request hashes the master's prefix once, for the ETag; every later one costs O(tail).
    const cold = await timed('curl', ['-sS', '-I', '-o', '/dev/null', '-w', '%{time_starttransfer}', serveUrl]);
    const single = await downloadRound(serveUrl, 1, size, serve.pid!);

    const best = { serve: undefined as Round | undefined, nginx: undefined as Round | undefined };
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate who goes first, so neither side always meets the other's leftovers in the page cache and scheduler.
      const order: ('serve' | 'nginx')[] = round % 2 ? ['serve', 'nginx'] : ['nginx', 'serve'];
      for (const side of order) {
        const r = side === 'serve' ? await downloadRound(serveUrl, CLIENTS, size, serve.pid!) : await downloadRound(nginxUrl, CLIENTS, size, nginx.pid!);
        process.stderr.write(`round ${round} ${side}: ${fmt((CLIENTS * size) / r.seconds / 1e6, 0)} MB/s\n`);
        const prev = best[side];
        best[side] = prev && prev.seconds <= r.seconds ? { ...prev, peakRssKb: Math.max(prev.peakRssKb, r.peakRssKb) } : { ...r, peakRssKb: Math.max(prev?.peakRssKb ?? 0, r.peakRssKb) };
      }
    }
    const s = best.serve!;
    const n = best.nginx!;
    const mbps = (r: Round) => (CLIENTS * size) / r.seconds / 1e6;
    const line = (name: string, r: Round) =>
      `${name.padEnd(14)} ${fmt(mbps(r), 0).padStart(8)} MB/s   p99 TTFB ${fmt(p99(r.ttfb) * 1000, 1).padStart(7)} ms   peak RSS ${fmt(r.peakRssKb / 1024, 1).padStart(7)} MB`;
    process.stdout.write(
      [
        `${CLIENTS} concurrent clients, ${fmt(size / 1e6, 1)} MB channel APK, best of ${ROUNDS} alternating rounds (loopback, page cache)`,
        line('subpack serve', s),
        line('nginx', n),
        `ratio serve/nginx: throughput ${fmt(mbps(s) / mbps(n), 2)}, p99 TTFB ${fmt(p99(s.ttfb) / p99(n.ttfb), 2)}, peak RSS ${fmt(s.peakRssKb / n.peakRssKb, 2)}`,
        `serve RSS: ${fmt(idleRssKb / 1024, 1)} MB idle, ${fmt(single.peakRssKb / 1024, 1)} MB with 1 download, ${fmt(s.peakRssKb / 1024, 1)} MB with ${CLIENTS}`,
        `serve cold first response (prefix hash of the master): ${fmt(Number(cold.stdout) * 1000, 0)} ms`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const child of children) await stopped(child);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await removeDir(work);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:serve failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
