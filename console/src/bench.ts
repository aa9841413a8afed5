// npm run bench:console: the web console in headless chromium against the real stack (RabbitMQ, Redis, a packer, an
// uploader, the retry-scheduler and the API), with a finished 10,000-channel task of a small APK on a file://
// destination:
//  1. first load of the task page until it is usable: the progress bar and the first row of the channel table drawn,
//     timed from the navigation's start (performance.now() in the page);
//  2. paging the channel table (next page) and filtering it (failed / all), each timed in the page from the click
//     until the DOM shows the new rows;
//  3. the size of the built bundle, gzipped: the entry JS, the CSS, and the chunks loaded lazily.
// Prints one table with the goals, the medians of several runs and their ratio to the goal.
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { E2eStack, fileUrl, type ServiceProcess } from '@subpack/e2e';
import { standardApk } from '@subpack/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CHANNELS = Number(process.env.SUBPACK_BENCH_CHANNELS ?? 10_000);
const RUNS = Number(process.env.SUBPACK_BENCH_RUNS ?? 7);
const TIMEOUT_MS = Number(process.env.SUBPACK_BENCH_TIMEOUT_S ?? 600) * 1000;
const GOAL_LOAD_MS = 1500;
const GOAL_ACTION_MS = 100;
const DIST = resolve(__dirname, '../dist');
const ADMIN = { name: 'bench-admin', password: 'bench-admin-password-0123' };
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Row {
  what: string;
  goal: string;
  median: string;
  runs: string;
  ratio: string;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function timeRow(what: string, goalMs: number, samples: readonly number[]): Row {
  const m = median(samples);
  return { what, goal: `< ${goalMs} ms`, median: `${m.toFixed(1)} ms`, runs: samples.map((s) => s.toFixed(0)).join(' '), ratio: (m / goalMs).toFixed(2) };
}

function printTable(rows: readonly Row[]): void {
  const header: Row = { what: 'measure', goal: 'goal', median: 'median', runs: 'runs (ms)', ratio: 'median / goal' };
  const keys = ['what', 'goal', 'median', 'ratio', 'runs'] as const;
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...[header, ...rows].map((r) => r[k].length))])) as Record<(typeof keys)[number], number>;
  const line = (r: Row): string => `| ${keys.map((k) => r[k].padEnd(width[k])).join(' | ')} |`;
  process.stdout.write(`${[line(header), `|${keys.map((k) => '-'.repeat(width[k] + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n`);
}

async function api<T>(base: string, headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** The gzipped sizes of the built console: the entry script and stylesheet index.html names, and every other chunk. */
async function bundleRows(): Promise<Row[]> {
  const html = await readFile(join(DIST, 'index.html'), 'utf8');
  const entry = new Set([...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!));
  const sizes = { entryJs: 0, css: 0, lazy: 0, raw: 0 };
  const lazyNames: string[] = [];
  for (const name of await readdir(join(DIST, 'assets'))) {
    const bytes = await readFile(join(DIST, 'assets', name));
    const gz = gzipSync(bytes, { level: 9 }).byteLength;
    sizes.raw += bytes.byteLength;
    if (name.endsWith('.css')) sizes.css += gz;
    else if (entry.has(name)) sizes.entryJs += gz;
    else if (name.endsWith('.js')) {
      sizes.lazy += gz;
      lazyNames.push(name);
    }
  }
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} kB`;
  return [
    { what: 'bundle: entry JS (gzip)', goal: '-', median: kb(sizes.entryJs), runs: '', ratio: '-' },
    { what: 'bundle: CSS (gzip)', goal: '-', median: kb(sizes.css), runs: '', ratio: '-' },
    { what: `bundle: lazy chunks (gzip)`, goal: '-', median: kb(sizes.lazy), runs: lazyNames.join(' '), ratio: '-' },
  ];
}

/**
 * Before any script of the page runs: records, against the navigation's start, when the progress bar and the first
 * channel row are both in the DOM (window.__interactiveAt).
 */
const WATCH_FIRST_ROW = `(() => {
  const check = () => {
    if (window.__interactiveAt === undefined && document.querySelector('progress') && document.querySelector('[data-testid=channel-row]')) {
      window.__interactiveAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();`;

/** Clicks `button` (by test id) in the page and returns the ms until `done` (a predicate over the DOM) holds. */
async function timedAction(page: Page, button: string, done: 'firstRowChanged' | 'noChannels' | 'rowsBack'): Promise<number> {
  return page.evaluate(
    async ({ button, done }) => {
      const firstRow = (): string => document.querySelector('[data-testid=channel-row] td')?.textContent ?? '';
      const before = firstRow();
      const holds = (): boolean => {
        if (done === 'firstRowChanged') return firstRow() !== '' && firstRow() !== before;
        if (done === 'noChannels') return document.querySelector('[data-testid=no-channels]') !== null;
        return document.querySelector('[data-testid=channel-row]') !== null;
      };
      const target = button.startsWith('text=') ? Array.from(document.querySelectorAll('button')).find((b) => b.textContent === button.slice(5)) : document.querySelector(`[data-testid=${button}]`);
      if (!(target instanceof HTMLElement)) throw new Error(`no ${button}`);
      return new Promise<number>((resolveTime, reject) => {
        const t0 = performance.now();
        const observer = new MutationObserver(() => {
          if (holds()) {
            observer.disconnect();
            resolveTime(performance.now() - t0);
          }
        });
        observer.observe(document.body, { childList: true, subtree: true, characterData: true });
        setTimeout(() => {
          observer.disconnect();
          reject(new Error(`${button}: the DOM did not change within 10 s`));
        }, 10_000);
        target.click();
      });
    },
    { button, done },
  );
}

async function main(): Promise<void> {
  const profile = await mkdtemp(join(tmpdir(), 'subpack-console-bench-'));
  let stack: E2eStack | undefined;
  let context: BrowserContext | undefined;
  try {
    stack = await E2eStack.create('consolebench');
    const out = await stack.makeDir('out');
    const quiet = { LOG_LEVEL: 'warn' };
    await stack.startPipeline({ packer: { ...quiet, SUBPACK_BATCH_SIZE: '250' }, uploaders: 2, uploader: quiet, scheduler: quiet });
    const apiProcess: ServiceProcess = await stack.start('api', {
      ...stack.rootsEnv,
      ...quiet,
      SUBPACK_API_DESTINATIONS: `bench=${fileUrl(out)}`,
      SUBPACK_API_ADMIN: ADMIN.name,
      SUBPACK_API_ADMIN_PASSWORD: ADMIN.password,
      SUBPACK_API_LINK_KEY: 'console-bench-link-key-0123456789abcdef0123',
    });
    const base = `http://127.0.0.1:${apiProcess.port}`;
    const signIn = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    if (signIn.status !== 200) throw new Error(`sign-in: ${signIn.status} ${await signIn.text()}`);
    const session = (await signIn.json()) as { csrfToken: string };
    const headers = { cookie: signIn.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' };

    const master = await api<{ id: string }>(base, headers, 'POST', '/masters', { url: fileUrl(await standardApk('v2Only')) });
    const text = Array.from({ length: CHANNELS }, (_, i) => `store-${String(i + 1).padStart(5, '0')},region=华东`).join('\n');
    const list = await api<{ id: string }>(base, headers, 'POST', '/channel-lists', { name: 'bench', text });
    const started = Date.now();
    const task = await api<{ taskId: string }>(base, headers, 'POST', '/tasks', { master: master.id, channelList: list.id, destination: 'bench' });
    process.stderr.write(`bench:console: a ${CHANNELS}-channel task (${task.taskId}); waiting until it finishes...\n`);
    for (;;) {
      const view = await api<{ status: string; done: number; failed: number }>(base, headers, 'GET', `/tasks/${encodeURIComponent(task.taskId)}`);
      if (['done', 'partial', 'failed', 'cancelled'].includes(view.status)) {
        if (view.status !== 'done') throw new Error(`the task ended ${JSON.stringify(view)}`);
        break;
      }
      if (Date.now() - started > TIMEOUT_MS) throw new Error(`the task did not finish within ${TIMEOUT_MS} ms: ${JSON.stringify(view)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    process.stderr.write(`  finished in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true, locale: 'en-US', viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name: headers.cookie.split('=')[0]!, value: headers.cookie.slice(headers.cookie.indexOf('=') + 1), url: base }]);
    await context.addInitScript(WATCH_FIRST_ROW);
    const page = context.pages()[0] ?? (await context.newPage());
    const taskUrl = `${base}/tasks/${encodeURIComponent(task.taskId)}`;

    // One load to warm the browser's caches of the hashed assets (a returning user), then the measured ones.
    const loads: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      await page.goto(taskUrl);
      await page.waitForFunction(() => (window as unknown as { __interactiveAt?: number }).__interactiveAt !== undefined, undefined, { timeout: 30_000 });
      const at = await page.evaluate(() => (window as unknown as { __interactiveAt: number }).__interactiveAt);
      if (i > 0) loads.push(at);
    }
    const paging: number[] = [];
    for (let i = 0; i < RUNS; i++) paging.push(await timedAction(page, 'text=Next page', 'firstRowChanged'));
    const toFailed: number[] = [];
    const toAll: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      toFailed.push(await timedAction(page, 'filter-failed', 'noChannels'));
      toAll.push(await timedAction(page, 'filter-all', 'rowsBack'));
    }

    process.stdout.write(`\nconsole: a finished ${CHANNELS}-channel task, headless chromium 1280x800, ${RUNS} runs each (first load after one warm-up)\n\n`);
    printTable([
      timeRow('task page: first load to progress bar + first row', GOAL_LOAD_MS, loads),
      timeRow('channel table: next page (100 rows)', GOAL_ACTION_MS, paging),
      timeRow(`channel table: filter "failed" (none of ${CHANNELS})`, GOAL_ACTION_MS, toFailed),
      timeRow('channel table: filter "all" again', GOAL_ACTION_MS, toAll),
      ...(await bundleRows()),
    ]);
  } finally {
    await context?.close().catch(() => undefined);
    await stack?.cleanup();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:console failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
