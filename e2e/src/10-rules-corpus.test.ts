// One verdict everywhere: a seeded corpus of hostile and ordinary channel ids, extras and naming templates is judged by
// `subpack pack`'s checks (given as --channel options and as a --channels file, parsed as the CLI parses them),
// `subpack submit`'s pre-publish validation and the packer's acceptTask on the real Redis and RabbitMQ. Each must accept
// exactly what the others accept, leading and trailing whitespace included. A sample also goes through the real CLI.
// The HTTP API judges the same corpus: POST /tasks/preview each task, POST /channel-lists/check its channels (as JSON
// items and as the text of a channels file, batched), refusing with the same rules named.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import Redis from 'ioredis';
import { TOPOLOGY, validatePackTask, type PackTask } from '@subpack/contracts';
import { AmqpConnectionManager, PermanentError, silentLogger } from '@subpack/messaging';
import { MasterCache, PackInputError, loadMaster, parseChannelList, parseChannelOption, parseExtra, preparePack, type ChannelSpec, type MasterInfo } from '@subpack/pack';
import { DEFAULT_NAMING, DEFAULT_PACK_FORMAT, type Extras } from '@subpack/rules';
import { TaskStore } from '@subpack/state';
import { openLocalFile } from '@subpack/storage';
import { makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { acceptTask, parseServiceRoots, type PackerDeps } from '@subpack/workflow';
import { createVhost, deleteRedisKeys, deleteVhost, E2eStack, fileTargetUrl, fileUrl, randomRedisPrefix, REDIS_URL, subpack, type Vhost } from './harness';
import { ApiClient, asProblemDocument, type ApiCaller } from './harness/api-client';

const SEED = 20_261_122;
const CORPUS_SIZE = 240;

// Controls (C0, DEL, C1), soft hyphen, zero-width, bidi marks and overrides, line separator, isolates, BOM, an astral
// tag character, an unpaired surrogate, and both path separators.
const HOSTILE_CHARACTERS = ['\u0000', '\u001f', '\u007f', '\u0085', '\u00ad', '\u200b', '\u200e', '\u202e', '\u2028', '\u2066', '\ufeff', '\u{e0001}', '\ud800', '/', '\\'];

const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
const channelId = fc.oneof(
  { weight: 12, arbitrary: word },
  { weight: 2, arbitrary: fc.integer({ min: 38, max: 45 }).map((n) => '应'.repeat(n)) }, // 43 of them are 129 bytes
  { weight: 1, arbitrary: fc.integer({ min: 124, max: 131 }).map((n) => 'x'.repeat(n)) },
  { weight: 2, arbitrary: fc.tuple(word, fc.constantFrom(...HOSTILE_CHARACTERS), word).map(([a, h, b]) => `${a}${h}${b}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(word, fc.constantFrom(' ', '\t', '\u3000'), fc.boolean()).map(([w, space, lead]) => (lead ? `${space}${w}` : `${w}${space}`)),
  },
  { weight: 2, arbitrary: fc.constantFrom('', '.', '..', '应用宝', 'Huawei Store', '😀-emoji', 'a.b:c') },
);
const extraKey = fc.oneof(
  { weight: 12, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,9}$/) },
  { weight: 1, arbitrary: fc.constantFrom('channel', '', ' k', 'k ', 'a\u200bb', 'é'.repeat(64), 'é'.repeat(65)) },
);
const extraValue = fc.oneof(
  { weight: 20, arbitrary: fc.stringMatching(/^[a-z0-9 ._-]{0,16}$/) },
  { weight: 1, arbitrary: fc.constantFrom('a\u0007b', 'x\u2028y', 'zw\u200bj', '中文值') },
  { weight: 1, arbitrary: fc.integer({ min: 4000, max: 8300 }).map((n) => 'v'.repeat(n)) },
);
const extras: fc.Arbitrary<Extras> = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(extraKey, extraValue, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.stringMatching(/^k[0-9]{1,3}$/), fc.constant('v'), { minKeys: 28, maxKeys: 36 }) },
);
const ordinaryTemplate = fc.constantFrom(
  DEFAULT_NAMING,
  '{channel}.apk',
  '{package}/{versionCode}/{channel}.apk',
  '{sha256}.apk',
  '{label}-{md5}.apk',
  '{channel}/{channel}/{channel}.apk',
);
const HOSTILE_TEMPLATES = [
  '{channel}-{channel}-{channel}.apk',
  `${'n'.repeat(200)}-{channel}.apk`,
  `${'d'.repeat(250)}/{channel}.apk`,
  '{bogus}-{channel}.apk',
  '{package}.apk',
  '../{channel}.apk',
  '/abs/{channel}.apk',
  'a//{channel}.apk',
  'a\\{channel}.apk',
  '{channel}/',
  'x/./{channel}.apk',
  '{channel}\u200e.apk',
  '{channel}}.apk',
];
const template = fc.oneof({ weight: 3, arbitrary: ordinaryTemplate }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_TEMPLATES) });
const taskShape = fc.record(
  {
    channels: fc.array(fc.record({ id: channelId, extras: extras }, { requiredKeys: ['id'] }), { minLength: 1, maxLength: 2 }),
    extras,
    naming: template,
    format: fc.constantFrom('auto', 'walle'),
  },
  { requiredKeys: ['channels'] },
);

interface Verdicts {
  submit: string | null;
  pack: string | null;
  packer: string | null;
  /** `pack --channel … --extra …` and `pack --channels <file> --extra …`; absent when the task cannot be written that way. */
  packOptions?: string | null;
  packFile?: string | null;
}

/** Every rule the corpus must meet, as the checks word it (pack's and the contracts' wordings both match). */
const RULES: readonly RegExp[] = [
  /invisible character U\+200B/,
  /invisible character U\+E0001/,
  /invisible character U\+D800/,
  /path separator/,
  /names a directory/,
  /leading or trailing whitespace/,
  /129 bytes long \(UTF-8\), above the limit of 128/,
  /extras, above the limit of 32/,
  /bytes of extras \(UTF-8, keys and values\), above the limit of 8192/,
  /reserved for the channel id/,
  /unknown placeholder|may only use the placeholders/,
  /must contain \{channel\}, \{md5\} or \{sha256\}/,
  /"\." or "\.\." path segment/,
  /must be a relative path/,
  /path segment of \d+ bytes \(UTF-8\), above the limit of 255/,
  /is listed more than once/,
];

let vhost: Vhost;
let redis: Redis;
let manager: AmqpConnectionManager;
let deps: PackerDeps;
let master: MasterInfo;
let masterUrl: string;
let workDir: string;
let stack: E2eStack;
let api: ApiClient;
let operator: ApiCaller;
let masterId: string;
const redisPrefix = randomRedisPrefix('rules-corpus');

before(async () => {
  workDir = await makeTempDir('subpack-corpus-');
  const masterPath = await standardApk('v2Only');
  masterUrl = fileUrl(masterPath);
  master = await loadMaster(await openLocalFile(masterPath));
  vhost = await createVhost('corpus');
  manager = new AmqpConnectionManager({ url: vhost.amqpUrl, connectionName: 'e2e-rules-corpus', topology: TOPOLOGY, logger: silentLogger });
  await manager.connect();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  deps = { store: new TaskStore(redis, { keyPrefix: redisPrefix }), publisher: manager.publisher, masters: new MasterCache(), batchSize: 25, maxChannels: 10_000, owner: 'e2e-rules-corpus', roots: parseServiceRoots('file:///', 'file:///') };
  // The API only judges here: no packer runs, nothing is sent.
  stack = await E2eStack.create('corpus-api');
  const out = await stack.makeDir('out');
  const admin = { name: 'admin', password: 'e2e-corpus-admin-password' };
  api = new ApiClient(
    await stack.start('api', {
      ...stack.rootsEnv,
      SUBPACK_API_DESTINATIONS: `out=${pathToFileURL(out).href}`,
      SUBPACK_API_ADMIN: admin.name,
      SUBPACK_API_ADMIN_PASSWORD: admin.password,
      SUBPACK_API_LINK_KEY: 'e2e-link-key-0123456789abcdef0123456789',
      SUBPACK_API_CHECK_RESPONSES: 'true',
    }),
  );
  operator = await api.signIn(admin.name, admin.password);
  masterId = (await api.json<{ id: string }>(operator, 'POST', '/masters', { url: masterUrl }, 201)).id;
});

after(async () => {
  await stack?.cleanup();
  await manager?.close();
  redis?.disconnect();
  await deleteRedisKeys(redisPrefix);
  if (vhost) await deleteVhost(vhost);
  if (workDir) await removeDir(workDir);
});

/** Every hostile template and character once on an otherwise ordinary task, so each rule is met at least once. */
type TaskShape = typeof taskShape extends fc.Arbitrary<infer T> ? T : never;
const PINNED: TaskShape[] = [
  ...HOSTILE_TEMPLATES.map((naming) => ({ channels: [{ id: 'huawei' }, { id: 'xiaomi' }], naming })),
  ...HOSTILE_CHARACTERS.map((h) => ({ channels: [{ id: `hua${h}wei` }] })),
  { channels: [{ id: 'huawei' }, { id: 'huawei' }] },
  { channels: [{ id: 'x'.repeat(100) }], naming: '{channel}-{channel}-{channel}.apk' },
  { channels: [{ id: '应'.repeat(20) }], naming: `${'n'.repeat(200)}-{channel}.apk` },
  // Outer whitespace of every kind, alone and next to a good id, and inner spaces (allowed).
  { channels: [{ id: 'huawei ' }] },
  { channels: [{ id: 'vivo' }, { id: ' oppo' }] },
  { channels: [{ id: 'xiaomi\t' }] },
  { channels: [{ id: '\u3000应用宝' }] },
  { channels: [{ id: 'Huawei Store' }, { id: 'App Gallery', extras: { partner: 'p 7' } }] },
  { channels: [{ id: 'meizu', extras: { ' k': 'v' } }] },
];

function corpus(): PackTask[] {
  const run = randomBytes(3).toString('hex');
  const shapes = [...PINNED, ...fc.sample(taskShape, { seed: SEED, numRuns: CORPUS_SIZE - PINNED.length })];
  return shapes.map((shape, i) => ({
    taskId: `corpus-${run}-${i}`,
    master: masterUrl,
    target: fileTargetUrl(join(workDir, 'target')),
    ...shape,
  }));
}

/** What `subpack pack` runs after parsing its arguments: the same preparePack packChannels starts with. */
function packVerdict(task: PackTask): string | null {
  try {
    preparePack(
      master,
      task.channels.map((c) => ({ id: c.id, extras: c.extras ?? {} })),
      { root: join(workDir, 'out'), format: task.format ?? DEFAULT_PACK_FORMAT, naming: task.naming ?? DEFAULT_NAMING, extras: task.extras ?? {} },
    );
    return null;
  } catch (err) {
    if (err instanceof PackInputError) return err.message;
    throw err;
  }
}

async function packerVerdict(task: PackTask): Promise<string | null> {
  try {
    await acceptTask(deps, task);
    return null;
  } catch (err) {
    if (err instanceof PermanentError) return err.message;
    throw err;
  }
}

/** `subpack pack` after parsing its arguments: its own parsers, then preparePack as packChannels runs it. */
function cliPackVerdict(task: PackTask, channels: () => ChannelSpec[]): string | null {
  try {
    const common: Record<string, string> = {};
    for (const [k, v] of Object.entries(task.extras ?? {})) {
      const [key, value] = parseExtra(`${k}=${v}`, '--extra');
      common[key] = value;
    }
    preparePack(master, channels(), { root: join(workDir, 'out'), format: task.format ?? DEFAULT_PACK_FORMAT, naming: task.naming ?? DEFAULT_NAMING, extras: common });
    return null;
  } catch (err) {
    if (err instanceof PackInputError) return err.message;
    throw err;
  }
}

/** An `id,key=value,…` entry can carry the channel: no separator of that syntax inside, no '=' in a key. */
function expressibleAsOptions(task: PackTask): boolean {
  const noComma = (s: string): boolean => !s.includes(',');
  return (
    Object.keys(task.extras ?? {}).every((k) => !k.includes('=')) &&
    task.channels.every((c) => noComma(c.id) && Object.entries(c.extras ?? {}).every(([k, v]) => noComma(k) && !k.includes('=') && noComma(v)))
  );
}

/**
 * A channels file can carry the task when, besides that, no line break or comment sign is inside, and no id is blank
 * (a blank line is skipped, not an empty id).
 */
function expressibleAsFile(task: PackTask): boolean {
  const plain = (s: string): boolean => !/[#\r\n]/.test(s);
  return expressibleAsOptions(task) && task.channels.every((c) => c.id.trim() !== '' && plain(c.id) && Object.entries(c.extras ?? {}).every(([k, v]) => plain(k) && plain(v)));
}

function channelsFileText(task: PackTask): string {
  return task.channels.map((c) => [c.id, ...Object.entries(c.extras ?? {}).map(([k, v]) => `${k}=${v}`)].join(',')).join('\r\n');
}

function optionArgs(task: PackTask): string[] {
  return task.channels.map((c) => [c.id, ...Object.entries(c.extras ?? {}).map(([k, v]) => `${k}=${v}`)].join(','));
}

function submitVerdict(task: PackTask): string | null {
  const result = validatePackTask(task);
  return result.ok ? null : result.errors.join('; ');
}

const judged: { task: PackTask; verdicts: Verdicts }[] = [];

test('the corpus gets one verdict from subpack pack, subpack submit and the packer', { timeout: 300_000 }, async () => {
  const disagreements: string[] = [];
  for (const task of corpus()) {
    const verdicts: Verdicts = { submit: submitVerdict(task), pack: packVerdict(task), packer: await packerVerdict(task) };
    if (expressibleAsOptions(task)) verdicts.packOptions = cliPackVerdict(task, () => optionArgs(task).map((a) => parseChannelOption(a)));
    if (expressibleAsFile(task)) verdicts.packFile = cliPackVerdict(task, () => parseChannelList(channelsFileText(task), 'channels.txt'));
    judged.push({ task, verdicts });
    const accepted = Object.values(verdicts).map((v) => v === null);
    if (new Set(accepted).size > 1) disagreements.push(`${JSON.stringify(task)}\n  ${JSON.stringify(verdicts)}`);
  }
  assert.deepEqual(disagreements, [], `verdicts differ:\n${disagreements.join('\n')}`);
  // Both CLI forms must have judged most of the corpus, the whitespace cases included.
  const byOptions = judged.filter((j) => j.verdicts.packOptions !== undefined);
  const byFile = judged.filter((j) => j.verdicts.packFile !== undefined);
  assert.ok(byOptions.length >= CORPUS_SIZE * 0.8 && byFile.length >= CORPUS_SIZE * 0.6, `${byOptions.length} by --channel, ${byFile.length} by --channels`);
  const outerSpace = byFile.filter((j) => j.task.channels.some((c) => c.id.trim() !== c.id));
  assert.ok(outerSpace.length >= 4 && outerSpace.every((j) => j.verdicts.packFile !== null), 'outer whitespace refused from a file');
  assert.ok(outerSpace.some((j) => /leading or trailing whitespace/.test(j.verdicts.packFile ?? '')), 'and named as such');

  // The corpus must exercise both sides and every kind of rule, or agreement would prove little.
  const rejected = judged.filter((j) => j.verdicts.submit !== null);
  assert.ok(rejected.length >= CORPUS_SIZE * 0.25 && rejected.length <= CORPUS_SIZE * 0.85, `${rejected.length} of ${CORPUS_SIZE} rejected`);
  // pack and the packer stop at the first failing group of checks (channels, then naming); submit lists schema errors
  // together, so between them every rule shows.
  const reasons = rejected.flatMap((j) => [j.verdicts.pack, j.verdicts.submit, j.verdicts.packer]).join('\n');
  for (const reason of RULES) {
    assert.match(reasons, reason);
  }
});

/** The task's channels alone, as a channel list holds them: no naming, format or task-wide extras. */
function channelsOnly(task: PackTask): PackTask {
  return { taskId: task.taskId, master: task.master, target: task.target, channels: task.channels };
}

/** Groups tasks so that no channel id of one task appears in another task of its group (a list refuses repeats). */
function batches(tasks: readonly PackTask[]): PackTask[][] {
  const groups: { tasks: PackTask[]; ids: Set<string> }[] = [];
  for (const task of tasks) {
    const ids = new Set(task.channels.map((c) => c.id));
    let group = groups.find((g) => [...ids].every((id) => !g.ids.has(id)));
    if (group === undefined) {
      group = { tasks: [], ids: new Set() };
      groups.push(group);
    }
    group.tasks.push(task);
    for (const id of ids) group.ids.add(id);
  }
  return groups.map((g) => g.tasks);
}

/** The API's verdict on a task: null when previewed, else the errors of its 422 problem document, joined as submit joins them. */
async function apiPreviewVerdict(task: PackTask): Promise<string | null> {
  const body = {
    master: masterId,
    destination: 'out',
    channels: task.channels,
    ...(task.naming !== undefined ? { naming: task.naming } : {}),
    ...(task.format !== undefined ? { format: task.format } : {}),
    ...(task.extras !== undefined ? { extras: task.extras } : {}),
  };
  const answer = await api.request(operator, 'POST', '/tasks/preview', body);
  if (answer.status === 200) return null;
  assert.equal(answer.status, 422, `${JSON.stringify(task)}: ${answer.text.slice(0, 1000)}`);
  const p = asProblemDocument(answer);
  assert.equal(p.code, 'INVALID_INPUT');
  const errors = (p.errors ?? []).map(String);
  assert.ok(errors.length > 0 && p.detail === errors.join('; '), answer.text.slice(0, 1000));
  return errors.join('; ');
}

/**
 * Checks one batch as a channel list (JSON items, or the lines of a channels file): the message of the problem
 * reported for each item (channel), null for an item that passed.
 */
async function apiListVerdicts(group: readonly PackTask[], as: 'json' | 'text'): Promise<(string | null)[]> {
  const channels = group.flatMap((t) => t.channels);
  const body = as === 'json' ? { name: 'corpus', channels } : { name: 'corpus', text: group.map(channelsFileText).join('\r\n') };
  const answer = await api.request(operator, 'POST', '/channel-lists/check', body);
  const found: (string | null)[] = channels.map(() => null);
  if (answer.status === 200) {
    assert.deepEqual(JSON.parse(answer.text), { count: channels.length });
    return found;
  }
  assert.equal(answer.status, 422, answer.text.slice(0, 1000));
  const p = asProblemDocument(answer);
  assert.equal(p.code, 'INVALID_INPUT');
  for (const e of (p.errors ?? []) as { index?: number; line?: number; message: string }[]) {
    // One item per element of the JSON, one per line of the text (no line break inside an entry).
    const item = as === 'json' ? e.index : e.line === undefined ? undefined : e.line - 1;
    assert.ok(item !== undefined && item < channels.length && found[item] === null, `a problem without its own item: ${JSON.stringify(e)}`);
    found[item] = e.message;
  }
  return found;
}

/** A channel's problems without where it stood: `channels[3]: id: …` and `channels[0].id: …` both become `id: …`. */
function channelProblems(message: string | null): string[] {
  if (message === null) return [];
  return message
    .replace(/^channels\[\d+\]: /, '')
    .split('; ')
    .map((m) => m.replace(/^channels\[\d+\]\./, ''))
    .sort();
}

/** A channels-file problem without the file's name and line numbers. */
function fileProblem(message: string | null): string | null {
  return message?.replace(/^.*? line \d+: /, '').replace(/line \d+/g, 'line N') ?? null;
}

async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

test('the HTTP API agrees: tasks/preview and channel-lists/check accept and refuse the same, naming the same rules', { timeout: 120_000 }, async (t) => {
  assert.ok(judged.length > 0, 'the corpus test ran first');
  const disagreements: string[] = [];
  const started = Date.now();

  // Whole tasks: one preview each (a preview judges one task).
  const previews = await inParallel(judged, 4, async ({ task }) => apiPreviewVerdict(task));
  judged.forEach(({ task, verdicts }, i) => {
    const answer = previews[i] ?? null;
    // The same errors as submit, word for word; accepted exactly when pack accepts.
    if (answer !== verdicts.submit || (answer === null) !== (verdicts.pack === null)) disagreements.push(`preview ${JSON.stringify(task).slice(0, 300)}\n  api: ${answer}\n  submit: ${verdicts.submit}\n  pack: ${verdicts.pack}`);
  });

  // Channels alone: every item is reported with its index (JSON) or line (text), so a batch is one request.
  const tasks = judged.map((j) => j.task);
  const jsonGroups = batches(tasks);
  const textGroups = batches(tasks.filter(expressibleAsFile));
  let refusedItems = 0;
  let refusedFiles = 0;
  for (const group of jsonGroups) {
    const answers = await apiListVerdicts(group, 'json');
    let item = 0;
    for (const task of group) {
      const seen = new Set<string>();
      let refused = false;
      for (const channel of task.channels) {
        const answer = answers[item++] ?? null;
        refused ||= answer !== null;
        if (answer !== null) refusedItems++;
        // Each item is judged as submit judges a task of that one channel; a repeat is named as such.
        const alone = submitVerdict({ ...channelsOnly(task), channels: [channel] });
        const repeated = alone === null && seen.has(channel.id);
        if (alone === null) seen.add(channel.id);
        const same = repeated ? /is listed more than once/.test(answer ?? '') : JSON.stringify(channelProblems(answer)) === JSON.stringify(channelProblems(alone));
        if (!same) disagreements.push(`list item ${JSON.stringify(channel).slice(0, 300)}\n  api: ${answer}\n  submit: ${alone}`);
      }
      const submit = submitVerdict(channelsOnly(task));
      const pack = packVerdict(channelsOnly(task));
      if (refused !== (submit !== null) || refused !== (pack !== null)) disagreements.push(`list ${JSON.stringify(task.channels).slice(0, 300)}\n  api refused: ${refused}\n  submit: ${submit}\n  pack: ${pack}`);
    }
  }
  for (const group of textGroups) {
    const answers = await apiListVerdicts(group, 'text');
    let line = 0;
    for (const task of group) {
      const mine = answers.slice(line, line + task.channels.length);
      line += task.channels.length;
      // pack --channels stops at a file's first bad line: the API names the same problem, in the same words, first.
      const first = mine.find((m) => m !== null) ?? null;
      if (first !== null) refusedFiles++;
      const file = cliPackVerdict(channelsOnly(task), () => parseChannelList(channelsFileText(task), 'channels.txt'));
      if (fileProblem(first) !== fileProblem(file)) disagreements.push(`list text ${JSON.stringify(channelsFileText(task)).slice(0, 300)}\n  api: ${first}\n  pack --channels: ${file}`);
    }
  }
  assert.deepEqual(disagreements, [], `the API differs:\n${disagreements.join('\n')}`);

  // Agreement must have been tested on both sides, and in few list requests.
  const refusedPreviews = previews.filter((v) => v !== null).length;
  assert.ok(refusedPreviews >= CORPUS_SIZE * 0.25 && refusedPreviews < CORPUS_SIZE, `${refusedPreviews} previews refused`);
  assert.ok(refusedItems >= 20 && refusedFiles >= 20, `${refusedItems} list items and ${refusedFiles} channels files refused`);
  assert.ok(textGroups.flat().length >= CORPUS_SIZE * 0.6, `${textGroups.flat().length} tasks checked as text`);
  assert.ok(jsonGroups.length + textGroups.length <= 60, `${jsonGroups.length} + ${textGroups.length} list requests`);
  t.diagnostic(`${judged.length} previews and ${jsonGroups.length + textGroups.length} list checks in ${Date.now() - started} ms`);
});

test('the real CLI agrees: subpack pack writes or refuses, subpack submit publishes or refuses', { timeout: 300_000 }, async () => {
  assert.ok(judged.length > 0, 'the corpus test ran first');
  const env = { AMQP_URL: vhost.amqpUrl, REDIS_URL, SUBPACK_REDIS_PREFIX: redisPrefix };
  const sample = (accepted: boolean, filter: (t: PackTask) => boolean = () => true): PackTask[] =>
    judged.filter((j) => (j.verdicts.submit === null) === accepted && filter(j.task)).slice(0, 5).map((j) => j.task);
  const outerSpace = judged.filter((j) => expressibleAsFile(j.task) && j.task.channels.some((c) => c.id.trim() !== c.id)).map((j) => j.task);
  const plainFile = (t: PackTask): boolean => expressibleAsFile(t) && !t.extras;
  const forPack = [...sample(true, plainFile), ...sample(false, plainFile), ...outerSpace.slice(0, 2)];
  const forSubmit = [...sample(true), ...sample(false)];
  assert.ok(forPack.length >= 8 && forSubmit.length === 10, `CLI sample too small: ${forPack.length} pack, ${forSubmit.length} submit`);

  for (const [i, task] of forPack.entries()) {
    const list = join(workDir, `channels-${i}.txt`);
    await writeFile(list, channelsFileText(task));
    const accepted = judged.find((j) => j.task === task)?.verdicts.submit === null;
    const common = ['--name', task.naming ?? DEFAULT_NAMING, '--format', task.format ?? DEFAULT_PACK_FORMAT, '--quiet'];
    const byFile = ['pack', master.path, '--out', join(workDir, `cli-out-${i}`), '--channels', list, ...common];
    const byOptions = ['pack', master.path, '--out', join(workDir, `cli-opt-out-${i}`), ...optionArgs(task).flatMap((a) => ['--channel', a]), ...common];
    for (const args of [byFile, byOptions]) {
      const result = await subpack(args);
      assert.equal(result.code, accepted ? 0 : 2, `subpack ${JSON.stringify(args)}\n${result.stderr}`);
      if (!accepted) await assert.rejects(readdir(args[3]!), { code: 'ENOENT' }, 'a refused pack writes nothing');
    }
  }

  for (const [i, task] of forSubmit.entries()) {
    const file = join(workDir, `task-${i}.json`);
    await mkdir(workDir, { recursive: true });
    await writeFile(file, JSON.stringify({ ...task, taskId: `${task.taskId}-cli` }));
    const result = await subpack(['submit', file], env);
    const accepted = judged.find((j) => j.task === task)?.verdicts.submit === null;
    assert.equal(result.code, accepted ? 0 : 2, `subpack submit ${JSON.stringify(task)}\n${result.stderr}`);
  }
});

test('a name too long only because of the master\'s own values passes submit and is refused by pack and the packer alike', async () => {
  // submit has not read the master, so it checks names with the shortest values any APK can give (an empty label);
  // this master's label "Example Game" adds the 12 bytes that push the segment past 255.
  const task: PackTask = {
    taskId: `corpus-label-${randomBytes(3).toString('hex')}`,
    master: masterUrl,
    target: fileTargetUrl(join(workDir, 'target')),
    channels: [{ id: 'a' }],
    naming: `${'n'.repeat(243)}-{label}{channel}`,
  };
  assert.equal(submitVerdict(task), null);
  assert.match(packVerdict(task) ?? '', /path segment of 257 bytes \(UTF-8\), above the limit of 255/);
  assert.match((await packerVerdict(task)) ?? '', /path segment of 257 bytes \(UTF-8\), above the limit of 255/);
});
