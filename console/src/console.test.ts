// The web console in a real browser (Debian's chromium, driven by playwright-core) against the real stack: packer,
// uploader, retry-scheduler and the API on RabbitMQ and Redis, with a file:// destination. An operator signs in,
// uploads a signed APK and sees its Chinese label, imports a 200-line channels file and sees both bad lines, views the
// saved list with its extras as columns, creates a task and watches it reach 100 % (with its throughput chart), searches
// and sorts its channels, filters the tasks by creator; hostile channel ids render as text and run nothing; a viewer
// gets no write controls.
// Screenshots of every page at 1280×800 and 390×844 go to console/test-artifacts/.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { E2eStack, type ServiceProcess } from '@subpack/e2e';
import { CHINESE_LABEL, standardApk } from '@subpack/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ARTIFACTS = resolve(__dirname, '../test-artifacts');
const ADMIN = { name: 'admin', password: 'console-admin-password-1' };
const OPERATOR = { name: 'ops', password: 'console-operator-password' };
const VIEWER = { name: 'watcher', password: 'console-viewer-password' };
const SCRIPT_ID = '<script>alert(1)';
const IMG_ID = '"><img src=x onerror=alert(1)>';
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Both sizes of every page: a laptop and a phone. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-390x844.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-1280x800.png`), fullPage: true });
}

async function signInOverHttp(base: string, who: { name: string; password: string }): Promise<Record<string, string>> {
  const res = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': body.csrfToken, 'content-type': 'application/json' };
}

async function signIn(page: Page, base: string, who: { name: string; password: string }): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('input[name=name]').fill(who.name);
  await page.locator('input[name=password]').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
}

test('the console: sign in, upload, channel list, task to 100 %, hostile text, viewer without write controls', { timeout: 240_000 }, async (t) => {
  await mkdir(ARTIFACTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'subpack-console-chromium-'));
  let stack: E2eStack | undefined;
  let context: BrowserContext | undefined;
  try {
    stack = await E2eStack.create('console');
    const masters = await stack.makeDir('masters');
    const out = await stack.makeDir('out');
    const roots = { SUBPACK_MASTER_ROOTS: pathToFileURL(masters).href, SUBPACK_TARGET_ROOTS: pathToFileURL(stack.workDir).href };
    await Promise.all([stack.start('packer', { SUBPACK_BATCH_SIZE: '20' }), stack.start('uploader'), stack.start('retry-scheduler')]);
    const api: ServiceProcess = await stack.start('api', {
      ...roots,
      SUBPACK_API_DESTINATIONS: `local=${pathToFileURL(out).href}`,
      SUBPACK_API_ADMIN: ADMIN.name,
      SUBPACK_API_ADMIN_PASSWORD: ADMIN.password,
      SUBPACK_API_LINK_KEY: 'console-link-key-0123456789abcdef0123456789',
    });
    const base = `http://127.0.0.1:${api.port}`;

    // The console's files: the policy on index.html and on the app's own paths; hashed assets cached for a year.
    const index = await fetch(`${base}/tasks/some-task`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-security-policy'), CSP);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(index.headers.get('referrer-policy'), 'same-origin');
    assert.equal(index.headers.get('cache-control'), 'no-store');
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=/, 'no inline style');
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, html);
    const script = await fetch(`${base}${asset}`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${base}/assets/missing-0000.js`)).status, 404);
    const unknownApi = await fetch(`${base}/api/v1/no-such-route`);
    assert.equal(unknownApi.status, 404);
    assert.doesNotMatch(await unknownApi.text(), /<div id="app">/);
    assert.equal((await fetch(`${base}/..%2f..%2fpackage.json`)).headers.get('content-type'), 'text/html; charset=utf-8');

    const admin = await signInOverHttp(base, ADMIN);
    for (const [who, role] of [
      [OPERATOR, 'operator'],
      [VIEWER, 'viewer'],
    ] as const) {
      const res = await fetch(`${base}/api/v1/users`, { method: 'POST', headers: admin, body: JSON.stringify({ ...who, role }) });
      assert.equal(res.status, 201, await res.text());
    }

    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
      locale: 'en-US',
      viewport: { width: 1280, height: 800 },
      acceptDownloads: false,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // The answers the console expects (no session yet, a list with bad lines) are logged by the browser itself.
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|422)/.test(m.text())) errors.push(m.text());
    });

    // 1. Sign in as the operator; the role shows.
    await page.goto(`${base}/`);
    await page.locator('input[name=name]').waitFor();
    await shoot(page, '01-sign-in');
    await signIn(page, base, OPERATOR);
    assert.equal(await page.getByTestId('who').textContent(), 'Signed in as ops (operator)');

    // 2. A real signed APK through tus; its inspected facts show the Chinese label.
    await page.goto(`${base}/masters`);
    await page.getByTestId('apk-input').setInputFiles(await standardApk('chinese'));
    await page.getByTestId('master-label').filter({ hasText: CHINESE_LABEL }).waitFor({ timeout: 60_000 });
    assert.match((await page.getByTestId('upload').textContent()) ?? '', /100%/);
    assert.ok(await page.getByTestId('master-facts').getByText('walle', { exact: true }).isVisible());
    // Its launcher icon, read out of the APK by the API.
    const icon = page.getByTestId('master-icon');
    await icon.waitFor();
    assert.equal(await icon.getAttribute('alt'), CHINESE_LABEL);
    const naturalWidth = await icon.evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return img.naturalWidth;
    });
    assert.ok(naturalWidth > 0, 'the icon image loaded');
    await shoot(page, '02-masters');

    // 3. A channels file of 200 lines, two of them bad: both errors show, with their lines, before anything is saved.
    const good = Array.from({ length: 196 }, (_, i) => `渠道-${String(i).padStart(3, '0')},region=华东`);
    const lines = [...good.slice(0, 50), `${SCRIPT_ID},note=<b>bold</b>`, 'bad\u202Eid', ...good.slice(50, 120), `${IMG_ID},note="><img src=x onerror=alert(2)>`, 'zero\u200Bwidth', ...good.slice(120)];
    assert.equal(lines.length, 200);
    const file = join(stack.workDir, 'stores.txt');
    await writeFile(file, `${lines.join('\n')}\n`);
    await page.goto(`${base}/lists`);
    await page.getByTestId('list-file').setInputFiles(file);
    await page.getByTestId('list-errors').waitFor();
    const rows = page.getByTestId('list-error');
    assert.equal(await rows.count(), 2);
    const first = (await rows.nth(0).textContent()) ?? '';
    const second = (await rows.nth(1).textContent()) ?? '';
    assert.match(first, /^52bad⟨U\+202E⟩id/, first);
    assert.match(second, /^124zero⟨U\+200B⟩width/, second);
    await shoot(page, '03-lists-errors');
    const fixed = lines.filter((l) => !/[\u202E\u200B]/.test(l));
    await page.locator('textarea[name=list-text]').fill(fixed.join('\n'));
    await page.getByTestId('save-list').click();
    await page.getByTestId('verdict').filter({ hasText: '198 channels' }).waitFor();
    // Viewing the list: one column per extras key, the values (markup too) as text.
    await page.getByTestId('view-list').first().click();
    await page.getByTestId('list-channels').waitFor();
    assert.deepEqual(await page.getByTestId('extra-column').allTextContents(), ['region', 'note']);
    const scriptRow = page.getByTestId('list-channel').filter({ hasText: SCRIPT_ID });
    assert.deepEqual(await scriptRow.locator('td').allTextContents(), ['51', SCRIPT_ID, '', '<b>bold</b>']);
    assert.deepEqual(await page.getByTestId('list-channel').first().locator('td').allTextContents(), ['1', '渠道-000', '华东', '']);
    await shoot(page, '04-lists-saved');

    // 4. A new task: master, list, destination; the live preview names the files; the confirmation counts channels.
    await page.goto(`${base}/tasks/new`);
    await page.locator('select[name=master] option').nth(1).waitFor({ state: 'attached' });
    await page.locator('select[name=master]').selectOption({ index: 1 });
    await page.locator('select[name=list]').selectOption({ index: 1 });
    await page.locator('select[name=destination]').selectOption('local');
    await page.locator('input[name=naming]').fill('{package}/{channel}.apk');
    await page.getByTestId('preview-name').first().filter({ hasText: /^com\.[^/]+\/.+\.apk$/ }).waitFor();
    await shoot(page, '05-new-task');
    await page.getByTestId('create-task').click();
    const summary = page.getByTestId('confirm-summary');
    await summary.waitFor();
    assert.match((await summary.textContent()) ?? '', /^198 channels, about [\d.,]+ (kB|MB) in all, to local\.$/);
    await page.getByTestId('confirm').click();
    await page.waitForURL((u) => /^\/tasks\/[^/]+$/.test(u.pathname) && u.pathname !== '/tasks/new');

    // 5. The task page follows the task over SSE to 100 %; channels page through; links and QR codes for stored ones.
    await page.getByTestId('task-state').filter({ hasText: 'done' }).waitFor({ timeout: 90_000 });
    await page.getByTestId('progress-text').filter({ hasText: '100%' }).waitFor();
    assert.match((await page.getByTestId('task-counts').textContent()) ?? '', /^198 of 198 done · 0 failed/);
    // The hostile ids are text in the table (on one of its two pages), and no element or script came from them.
    const channelCells = (): Promise<string[]> => page.getByTestId('channel-row').locator('td:first-child').allTextContents();
    // Pages hold about 100 channels each (the server's cursor pages may hold a few more).
    const shown = await channelCells();
    let pages = 1;
    while (await page.getByRole('button', { name: 'Next page' }).isEnabled()) {
      pages++;
      const before = shown[shown.length - 1];
      await page.getByRole('button', { name: 'Next page' }).click();
      await page.getByText(`Page ${pages}`).waitFor();
      // Until the next page arrives, the table still shows the one before.
      await page.waitForFunction((last) => document.querySelector('[data-testid=channel-row]:last-child td')?.textContent !== last, before);
      shown.push(...(await channelCells()));
    }
    assert.ok(pages >= 2, `${pages} pages`);
    assert.equal(new Set(shown).size, 198);
    assert.ok(shown.includes(SCRIPT_ID) && shown.includes(IMG_ID), JSON.stringify(shown.filter((c) => !c.startsWith('渠道'))));
    for (let n = pages - 1; n >= 1; n--) {
      await page.getByRole('button', { name: 'Previous page' }).click();
      await page.getByText(`Page ${n}`).waitFor();
    }
    assert.equal(await page.evaluate(() => document.querySelectorAll('img[onerror], script:not([src])').length), 0);
    const row = page.getByTestId('channel-row').first();
    await row.getByTestId('copy-link').click();
    const link = await row.getByTestId('link-url').inputValue();
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/downloads\//);
    const download = await fetch(link);
    assert.equal(download.status, 200);
    assert.ok((await download.arrayBuffer()).byteLength > 1000);
    await row.getByRole('button', { name: 'QR code' }).click();
    await row.locator('img.qr').waitFor();
    assert.match((await row.locator('img.qr').getAttribute('src')) ?? '', /^data:image\/png;base64,/);
    // The throughput over the task's life, from the live updates.
    assert.ok((await page.getByTestId('task-throughput').locator('rect.bar').count()) > 0);
    // The search asks the server for matching ids; the sort orders the rows of the page.
    await page.getByTestId('channel-search').fill('渠道-12');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=channel-row]').length === 10);
    await page.getByTestId('sort-channel').click();
    await page.getByTestId('sort-channel').click();
    assert.equal(await page.getByTestId('channel-row').first().locator('td').first().textContent(), '渠道-129');
    assert.ok(await page.getByTestId('sort-note').isVisible());
    await page.getByTestId('channel-search').fill('渠道-123');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=channel-row]').length === 1);
    assert.deepEqual(await channelCells(), ['渠道-123']);
    await page.waitForURL((u) => u.searchParams.get('q') === '渠道-123');
    await page.getByTestId('channel-search').fill('no-such-channel');
    await page.getByTestId('no-channels').filter({ hasText: 'No channel id contains “no-such-channel”.' }).waitFor();
    await page.getByTestId('channel-search').fill('');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=channel-row]').length >= 100);
    await page.waitForURL((u) => !u.searchParams.has('q'));
    const taskUrl = page.url();
    await shoot(page, '06-task');

    // 6. The task list with its state filter.
    await page.goto(`${base}/tasks`);
    await page.getByTestId('task-list').waitFor();
    await page.locator('select[name=state]').selectOption('done');
    await page.getByTestId('task-list').locator('tbody tr').first().waitFor();
    assert.equal(await page.getByTestId('task-list').locator('tbody tr').count(), 1);
    await shoot(page, '07-tasks');
    await page.locator('select[name=state]').selectOption('failed');
    await page.getByText('No tasks.').waitFor();
    // The creator filter, beside the state filter.
    await page.locator('select[name=state]').selectOption('');
    await page.getByTestId('creator-filter').fill('nobody');
    await page.getByText('No tasks.').waitFor();
    await page.getByTestId('creator-filter').fill(OPERATOR.name);
    await page.getByTestId('task-list').locator('tbody tr').first().waitFor();
    assert.equal(await page.getByTestId('task-list').locator('tbody tr').count(), 1);
    // The address follows the filter once its pause is over; the rows may show first.
    await page.waitForURL((u) => u.search === `?creator=${OPERATOR.name}`);

    // Chinese, chosen in the page: the catalogue and Intl formatting switch together.
    await page.getByTestId('language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '任务' }).waitFor();
    await page.goto(taskUrl);
    await page.getByTestId('task-counts').filter({ hasText: '已完成 198 / 198' }).waitFor();
    await shoot(page, '08-task-zh');
    await page.goto(`${base}/system`);
    await page.getByTestId('system').waitFor();
    await shoot(page, '09-system-zh');
    await page.getByTestId('language').selectOption('en');

    // 7. A viewer sees the same data and no write control anywhere.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, base, VIEWER);
    assert.equal(await page.getByTestId('who').textContent(), 'Signed in as watcher (viewer)');
    const writeControls = '[data-testid=dropzone], [data-testid=apk-input], [data-testid=save-list], [data-testid=create-task], [data-testid=cancel-task]';
    for (const [path, ready] of [
      ['/tasks', 'task-list'],
      ['/masters', 'master-facts'],
      ['/lists', 'list-file'],
      [new URL(taskUrl).pathname, 'channel-table'],
    ] as const) {
      await page.goto(`${base}${path}`);
      if (path === '/masters') await page.getByRole('button', { name: 'Details' }).first().click();
      await page.getByTestId(ready).first().waitFor();
      assert.equal(await page.locator(writeControls).count(), 0, `write controls on ${path}`);
      assert.equal(await page.getByRole('link', { name: 'New task' }).count(), 0);
    }
    await shoot(page, '10-viewer-task');
    await page.goto(`${base}/tasks/new`);
    await page.getByText('There is no page here.').waitFor();

    // Without a built console the API serves only itself.
    const bare = await stack.start('api', { ...roots, SUBPACK_API_CONSOLE_DIR: join(stack.workDir, 'no-console'), SUBPACK_API_ADMIN: ADMIN.name, SUBPACK_API_ADMIN_PASSWORD: ADMIN.password });
    assert.equal((await fetch(`http://127.0.0.1:${bare.port}/`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${bare.port}/api/v1/openapi.json`)).status, 200);

    assert.deepEqual(dialogs, [], 'no dialog was opened');
    assert.deepEqual(errors, [], 'no console error');
    t.diagnostic(`screenshots in ${ARTIFACTS}`);
  } finally {
    await context?.close().catch(() => undefined);
    await stack?.cleanup();
    await rm(profile, { recursive: true, force: true });
  }
});
