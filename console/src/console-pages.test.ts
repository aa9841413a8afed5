// The rest of the console in a real browser against the real stack, with moto as the object store: a webhook's "Send
// a test" refused with its reason; a task to an s3:// destination followed to 100 %, one channel downloaded from the
// page and verified with apksigner, its QR code read back to the link; a task whose too-long channel ids fail shows
// why; a parked message replayed from the Parked page; the hostile corpus (bidi override, zero-width, <script>,
// onerror) in channel ids, extras, labels and reasons stays visible text and runs nothing; the System and Admin
// pages; a viewer without write controls whose forged write is refused; the language switch. Screenshots at 1280×800
// and 390×844 go to console/test-artifacts/.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { E2eStack, fileTargetUrl, fileUrl, packTask, uniqueTaskId, type ServiceProcess } from '@subpack/e2e';
import { apksignerVerify, standardApk, startMoto, withZipComment, type MotoServer } from '@subpack/testing';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ARTIFACTS = resolve(__dirname, '../test-artifacts');
const BUCKET = 'console-packs';
const ADMIN = { name: 'admin', password: 'console-admin-password-1' };
const OPERATOR = { name: 'ops', password: 'console-operator-password' };
const VIEWER = { name: 'watcher', password: 'console-viewer-password' };
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The hostile corpus: what must stay visible text. Ids may not hold invisible characters, so those go into labels. */
const BIDI = '\u202E';
const ZERO_WIDTH = '\u200B';
const SCRIPT = '<script>alert(1)<';
const IMG = '"><img src=x onerror=alert(1)>';
const LABEL = `商店${BIDI}kpa.exe ${SCRIPT}/script> ${IMG} zero${ZERO_WIDTH}width`;
/** Room left in the ZIP comment of the long-comment master: ids longer than this cannot be written. */
const COMMENT_ROOM = 40;
const LONG_SCRIPT_ID = `${SCRIPT}-${'x'.repeat(COMMENT_ROOM)}`;
const LONG_IMG_ID = `${IMG}-${'y'.repeat(COMMENT_ROOM)}`;

async function shoot(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-390x844.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-1280x800.png`), fullPage: true });
}

type Headers = Record<string, string>;

async function signInOverHttp(base: string, who: { name: string; password: string }): Promise<Headers> {
  const res = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': body.csrfToken, 'content-type': 'application/json' };
}

async function post<T>(base: string, headers: Headers, path: string, body: unknown, status = 201): Promise<T> {
  const res = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, status, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

async function signIn(page: Page, base: string, who: { name: string; password: string }): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('input[name=name]').fill(who.name);
  await page.locator('input[name=password]').fill(who.password);
  await page.locator('form button[type=submit]').click();
  await page.getByTestId('who').waitFor();
}

async function signOut(page: Page): Promise<void> {
  await page.locator('header button.secondary').click();
  await page.locator('input[name=name]').waitFor();
}

/** The QR code in an <img> data URL, decoded. */
function decodeQr(dataUrl: string): string {
  const m = /^data:image\/png;base64,(.+)$/.exec(dataUrl);
  assert.ok(m?.[1], dataUrl.slice(0, 40));
  const png = PNG.sync.read(Buffer.from(m[1], 'base64'));
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
  assert.ok(code, 'the QR code decodes');
  return code.data;
}

/** No element or script came from server text. */
async function noInjectedMarkup(page: Page): Promise<void> {
  assert.equal(await page.evaluate(() => document.querySelectorAll('img[onerror], img[src=x], script:not([src])').length), 0);
}

test('the console: s3 task with download and QR, failures, parked replay, hostile text, system, admin, viewer, languages', { timeout: 240_000 }, async (t) => {
  await mkdir(ARTIFACTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'subpack-console-chromium-'));
  let stack: E2eStack | undefined;
  let moto: MotoServer | undefined;
  let s3: S3Client | undefined;
  let context: BrowserContext | undefined;
  try {
    [stack, moto] = await Promise.all([E2eStack.create('console-pages', { retryTiers: '1s', maxAttempts: 2 }), startMoto()]);
    s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const masters = await stack.makeDir('masters');
    const out = await stack.makeDir('out');
    const downloads = await stack.makeDir('downloads');
    await copyFile(await standardApk('v2Only'), join(masters, 'app.apk'));
    // The v1-only fixture with a ZIP comment so long that only ids up to COMMENT_ROOM bytes still fit after it.
    await withZipComment(await standardApk('v1Only'), 0xffff - 10 - COMMENT_ROOM, join(masters, 'long-comment.apk'));
    const env = {
      ...moto.env,
      SUBPACK_MASTER_ROOTS: fileUrl(masters),
      SUBPACK_TARGET_ROOTS: `${fileUrl(stack.workDir)},s3://${BUCKET}`,
      SUBPACK_BATCH_SIZE: '10',
    };
    await Promise.all([stack.start('packer', env), stack.start('uploader', env), stack.start('retry-scheduler', env)]);
    const api: ServiceProcess = await stack.start('api', {
      ...env,
      SUBPACK_API_DESTINATIONS: `s3=s3://${BUCKET}/packs,local=${fileUrl(out)}`,
      SUBPACK_API_ADMIN: ADMIN.name,
      SUBPACK_API_ADMIN_PASSWORD: ADMIN.password,
      SUBPACK_API_LINK_KEY: 'console-link-key-0123456789abcdef0123456789',
      SUBPACK_API_CHECK_RESPONSES: 'true',
    });
    const base = `http://127.0.0.1:${api.port}`;

    // Users, masters and lists over HTTP (their pages are covered by the other browser test).
    const admin = await signInOverHttp(base, ADMIN);
    await post(base, admin, '/users', { ...OPERATOR, role: 'operator' });
    await post(base, admin, '/users', { ...VIEWER, role: 'viewer' });
    const ops = await signInOverHttp(base, OPERATOR);
    const appMaster = await post<{ id: string }>(base, ops, '/masters', { url: fileUrl(join(masters, 'app.apk')) });
    const longCommentMaster = await post<{ id: string }>(base, ops, '/masters', { url: fileUrl(join(masters, 'long-comment.apk')) });
    const storeLines = Array.from({ length: 30 }, (_, i) => `store-${String(i + 1).padStart(2, '0')},note=${i === 0 ? `${SCRIPT}/script>` : '华东'},ref=${IMG}`);
    await post(base, ops, '/channel-lists', { name: `stores ${LABEL}`, text: storeLines.join('\n') });
    const longIds = await post<{ id: string }>(base, ops, '/channel-lists', { name: 'long ids', text: ['ok-1', LONG_SCRIPT_ID, 'ok-2', LONG_IMG_ID, 'ok-3'].join('\n') });

    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
      locale: 'en-US',
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
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
      // Refusals the test asks for (no session yet, a refused preview, the viewer's forged write) are logged by the browser itself.
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|403|422)/.test(m.text())) errors.push(m.text());
    });

    // 1. A task to s3:// from the New task page, with a webhook subscription; a naming template that makes names
    //    too long is warned about first.
    await signIn(page, base, OPERATOR);
    await page.goto(`${base}/tasks/new`);
    await page.locator('select[name=master] option').nth(2).waitFor({ state: 'attached' });
    await page.locator('select[name=master]').selectOption(appMaster.id);
    const listOptions = await page.locator('select[name=list] option').allTextContents();
    const storesOption = listOptions.find((o) => o.startsWith('stores '));
    // The label is text: the bidi override and zero-width space are shown as marks, the markup as characters.
    assert.equal(storesOption, `stores 商店⟨U+202E⟩kpa.exe ${SCRIPT}/script> ${IMG} zero⟨U+200B⟩width (30)`);
    await page.locator('select[name=destination]').selectOption('s3');
    // Names that fit for short ids but not for long ones: the preview says which channels, as text, and what to change.
    await page.locator('select[name=list]').selectOption(longIds.id);
    await page.locator('input[name=naming]').fill(`{channel}-${'x'.repeat(220)}.apk`);
    await page.getByTestId('preview-problems').waitFor();
    const problems = (await page.getByTestId('preview-problems').textContent()) ?? '';
    assert.match(problems, /^This task cannot be created as it is\. Some file names would be too long or invalid: shorten the naming template/);
    assert.ok(problems.includes(`(${JSON.stringify(LONG_SCRIPT_ID)}) has a path segment of 283 bytes (UTF-8), above the limit of 255`), problems);
    assert.ok(await page.getByTestId('create-task').isDisabled());
    await noInjectedMarkup(page);
    await shoot(page, '11-new-task-warnings');
    await page.locator('select[name=list]').selectOption({ label: storesOption });
    await page.locator('input[name=naming]').fill('{package}-{channel}.apk');
    await page.getByTestId('preview-name').first().filter({ hasText: 'com.example.v2only-store-01.apk' }).waitFor();
    assert.equal(await page.getByTestId('preview-warnings').count(), 0);
    await page.getByTestId('add-webhook').click();
    await page.locator('input[name=webhook-0]').fill('https://hooks.example.com/subpack');
    await page.locator('select[name=webhook-format-0]').selectOption('dingtalk');
    await page.locator('select[name=webhook-level-0]').selectOption('warn');
    // "Send a test": this stack's API allows no webhook host, so the refusal and its reason show, as text.
    await page.getByTestId('test-webhook').click();
    const tested = page.getByTestId('test-outcome').filter({ hasText: 'SUBPACK_NOTIFY_ALLOWED_HOSTS' });
    await tested.waitFor();
    assert.match((await tested.textContent()) ?? '', /^not delivered: .*hooks\.example\.com.*\(SUBPACK_NOTIFY_ALLOWED_HOSTS\)/);
    await shoot(page, '12-new-task-notify');
    await page.getByTestId('create-task').click();
    await page.getByTestId('confirm-summary').waitFor();
    assert.match((await page.locator('dialog.confirm').textContent()) ?? '', /1 webhooks will be notified/);
    await page.getByTestId('confirm').click();
    await page.waitForURL((u) => /^\/tasks\/[^/]+$/.test(u.pathname) && u.pathname !== '/tasks/new');
    const s3TaskUrl = page.url();

    // 2. The progress bar reaches 100 %; one channel downloaded from the page verifies; its QR code reads back the link.
    await page.getByTestId('progress-text').filter({ hasText: '100%' }).waitFor({ timeout: 90_000 });
    await page.getByTestId('task-state').filter({ hasText: 'done' }).waitFor();
    assert.equal(await page.locator('progress').getAttribute('value'), '1');
    const row = page.getByTestId('channel-row').filter({ hasText: 'store-01' });
    await row.getByTestId('copy-link').click();
    const link = await row.getByTestId('link-url').inputValue();
    assert.match(link, new RegExp(`^${moto.endpoint}/${BUCKET}/packs/`));
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId('download').click()]);
    const apk = join(downloads, 'store-01.apk');
    await download.saveAs(apk);
    const verified = await apksignerVerify(apk);
    assert.ok(verified.v2, verified.output);
    await row.getByTestId('show-qr').click();
    const qr = row.getByTestId('qr');
    await qr.waitFor();
    assert.equal(decodeQr((await qr.getAttribute('src')) ?? ''), link);
    await noInjectedMarkup(page);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'docs-task-1280x800.png') });
    await shoot(page, '13-task-s3');

    // The channel's extras (markup) come back as text on the Masters page once its APK is registered as a master.
    await copyFile(apk, join(masters, 'store-01.apk'));
    await post(base, ops, '/masters', { url: fileUrl(join(masters, 'store-01.apk')) });
    await page.goto(`${base}/masters`);
    await page.getByRole('button', { name: 'Details' }).first().click();
    await page.getByTestId('master-facts').filter({ hasText: 'store-01' }).waitFor();
    const facts = (await page.getByTestId('master-facts').first().textContent()) ?? '';
    assert.ok(facts.includes('store-01') && facts.includes(`${SCRIPT}/script>`) && facts.includes(IMG), facts);
    await noInjectedMarkup(page);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, 'docs-masters-390x844.png') });
    await page.setViewportSize({ width: 1280, height: 800 });

    // 3. A task whose long (and hostile) ids do not fit the master's ZIP comment: the reasons show, as text.
    const failing = await post<{ taskId: string }>(base, ops, '/tasks', {
      master: longCommentMaster.id,
      channelList: longIds.id,
      destination: 'local',
    });
    await page.goto(`${base}/tasks/${encodeURIComponent(failing.taskId)}`);
    await page.getByTestId('task-state').filter({ hasText: 'partly done' }).waitFor({ timeout: 90_000 });
    const reasons = (await page.getByTestId('failure-reasons').textContent()) ?? '';
    assert.match(reasons, /COMMENT_TOO_LONG/);
    await page.getByTestId('show-failed').click();
    await page.getByTestId('channel-row').nth(1).waitFor();
    const failedRows = await page.getByTestId('channel-row').allTextContents();
    assert.equal(failedRows.length, 2, JSON.stringify(failedRows));
    for (const id of [LONG_SCRIPT_ID, LONG_IMG_ID]) {
      const r = failedRows.find((x) => x.startsWith(id));
      assert.ok(r?.includes('COMMENT_TOO_LONG') && r.includes(`channel "${id}"`), JSON.stringify(failedRows));
    }
    assert.equal(await page.getByTestId('filter-failed').getAttribute('aria-pressed'), 'true');
    await noInjectedMarkup(page);
    await shoot(page, '14-task-failed');

    // 4. Parked messages: a task.pack whose master is outside every root, and one with a hostile id; replayed from the page.
    const outside = packTask({ taskId: uniqueTaskId('outside'), master: 'file:///nowhere/app.apk', target: fileTargetUrl(out), channels: ['a-1'] });
    const hostile = packTask({ taskId: uniqueTaskId('hostile'), master: fileUrl(join(masters, 'app.apk')), target: fileTargetUrl(out), channels: [`evil${BIDI}kpa.exe`, `zero${ZERO_WIDTH}width`] });
    await stack.publishTask(outside, { messageId: `task.pack:${String(outside.taskId)}` });
    await stack.publishTask(hostile, { messageId: `task.pack:${String(hostile.taskId)}` });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const parked = (await (await fetch(`${base}/api/v1/parked`, { headers: ops })).json()) as { items: { id: string }[] };
      if (parked.items.length >= 2) break;
      assert.ok(Date.now() < deadline, `parked: ${JSON.stringify(parked)}\n${stack.outputs()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    await page.goto(`${base}/parked`);
    await page.getByTestId('parked-row').nth(1).waitFor();
    const hostileRow = page.getByTestId('parked-row').filter({ hasText: String(hostile.taskId) });
    const hostileReason = (await hostileRow.getByTestId('parked-reason').textContent()) ?? '';
    assert.ok(!/[\u202E\u200B]/.test(hostileReason), hostileReason);
    await hostileRow.getByRole('button', { name: 'Show' }).click();
    const body = (await hostileRow.getByTestId('parked-body').textContent()) ?? '';
    assert.ok(body.includes('evil⟨U+202E⟩kpa.exe') && body.includes('zero⟨U+200B⟩width'), body);
    const outsideRow = page.getByTestId('parked-row').filter({ hasText: String(outside.taskId) });
    assert.match((await outsideRow.getByTestId('parked-reason').textContent()) ?? '', /master/);
    await shoot(page, '15-parked');
    await outsideRow.locator('input[type=checkbox]').check();
    await page.getByTestId('replay-selected').click();
    assert.equal(await page.getByTestId('replay-summary').textContent(), '1 parked messages go back to work.');
    await page.getByTestId('confirm').click();
    const outcome = page.getByTestId('replay-outcome');
    await outcome.waitFor();
    const outcomeText = (await outcome.textContent()) ?? '';
    assert.match(outcomeText, /^1 replayed · 0 skipped · 0 not found/);
    assert.ok(outcomeText.includes(`task.pack:${String(outside.taskId)}`), outcomeText);
    await noInjectedMarkup(page);
    await shoot(page, '16-parked-replayed');

    // 5. The System page: services ready, queues, the broker and Redis, the throughput of the last hour. Languages.
    await page.goto(`${base}/system`);
    await page.getByTestId('services').waitFor();
    assert.match((await page.getByTestId('broker-state').textContent()) ?? '', /^up \(connected\)/);
    assert.match((await page.getByTestId('throughput').textContent()) ?? '', /3[0-9] channels stored in the last hour/);
    assert.ok((await page.getByTestId('throughput').locator('rect.bar').count()) > 0);
    await shoot(page, '17-system');
    await page.getByTestId('language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '系统', exact: true }).waitFor();
    assert.deepEqual(await page.locator('header nav a').allTextContents(), ['任务', '新建任务', '母包', '渠道列表', '搁置消息', '系统']);
    assert.match((await page.getByTestId('throughput').textContent()) ?? '', /最近一小时存储了 3[0-9] 个渠道/);
    await shoot(page, '18-system-zh');
    await page.getByTestId('language').selectOption('en');
    await page.getByRole('heading', { name: 'System', exact: true }).waitFor();
    assert.deepEqual(await page.locator('header nav a').allTextContents(), ['Tasks', 'New task', 'Masters', 'Channel lists', 'Parked', 'System']);
    await page.goto(`${base}/admin`);
    await page.getByText('There is no page here.').waitFor();
    await signOut(page);

    // 6. Admin: a token shown once with its warning, a user, a destination, the audit log.
    await signIn(page, base, ADMIN);
    await page.goto(`${base}/admin`);
    await page.getByTestId('audit-row').first().waitFor();
    await page.locator('input[name=token-name]').fill('ci-robot');
    await page.getByTestId('create-token').click();
    await page.getByTestId('created-token').waitFor();
    assert.match(await page.getByTestId('token-secret').inputValue(), /^spk_[A-Za-z0-9_-]{43}$/);
    assert.match((await page.getByTestId('created-token').textContent()) ?? '', /shown only once/);
    await page.getByTestId('token-row').filter({ hasText: 'ci-robot' }).waitFor();
    await page.locator('input[name=user-name]').fill('auditor');
    await page.locator('input[name=user-password]').fill('auditor-password-1');
    await page.getByTestId('create-user').click();
    await page.getByTestId('user-row').filter({ hasText: 'auditor' }).waitFor();
    await page.locator('input[name=destination-name]').fill('archive');
    await page.locator('input[name=destination-url]').fill(`s3://${BUCKET}/archive`);
    await page.getByTestId('add-destination').click();
    await page.getByTestId('destination-row').filter({ hasText: 'archive' }).waitFor();
    await page.getByTestId('audit').getByRole('button', { name: 'Refresh' }).click();
    await page.getByTestId('audit-row').filter({ hasText: 'archive' }).waitFor();
    await shoot(page, '19-admin');
    await signOut(page);

    // 7. A viewer: no write control on any page, and a write forged from the viewer's page is refused.
    await signIn(page, base, VIEWER);
    const writeControls =
      '[data-testid=dropzone], [data-testid=apk-input], [data-testid=save-list], [data-testid=create-task], [data-testid=cancel-task], [data-testid=replay-selected], [data-testid=replay-all], input[type=checkbox], [data-testid=create-user], [data-testid=create-token], [data-testid=add-destination]';
    for (const [path, ready] of [
      ['/tasks', 'task-list'],
      ['/parked', 'parked-table'],
      ['/system', 'services'],
      [new URL(s3TaskUrl).pathname, 'channel-table'],
    ] as const) {
      await page.goto(`${base}${path}`);
      await page.getByTestId(ready).first().waitFor();
      assert.equal(await page.locator(writeControls).count(), 0, `write controls on ${path}`);
      assert.equal(await page.locator('header nav a', { hasText: /New task|Admin/ }).count(), 0);
    }
    await shoot(page, '20-viewer-parked');
    const forged = await page.evaluate(async () => {
      const who = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
      const headers = { 'content-type': 'application/json', 'x-csrf-token': who.csrfToken };
      const task = await fetch('/api/v1/tasks', { method: 'POST', headers, body: JSON.stringify({ master: 'm', channelList: 'l', destination: 's3' }) });
      const replay = await fetch('/api/v1/parked/replay', { method: 'POST', headers, body: JSON.stringify({ all: true }) });
      return [task.status, replay.status, who.csrfToken.length > 0];
    });
    assert.deepEqual(forged, [403, 403, true]);

    assert.deepEqual(dialogs, [], 'no dialog was opened');
    assert.deepEqual(errors, [], 'no console error');
    assert.ok((await readFile(apk)).byteLength > 1000);
    t.diagnostic(`screenshots in ${ARTIFACTS}`);
  } finally {
    await context?.close().catch(() => undefined);
    await stack?.cleanup();
    s3?.destroy();
    await moto?.stop();
    await rm(profile, { recursive: true, force: true });
  }
});
