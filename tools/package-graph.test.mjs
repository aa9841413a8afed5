// @ts-check
// The package graph is honest (every project declares exactly what it imports) and the lint rejects imports that go
// up the layers. Runs in `npm test` (scripts/test.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { ROOT, layeringPlugin, packageGraphProblems } from './package-graph.mjs';

test('every project declares exactly the packages it imports, tests\' in devDependencies, and references them in tsconfig', () => {
  assert.deepEqual(packageGraphProblems(), []);
});

/** The layering rule alone (no type information), so each fixture lints in milliseconds. */
const ruleOnly = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { subpack: layeringPlugin }, rules: { 'subpack/layering': 'error' } },
  ],
});

/** @param {string} file path relative to the repository root @param {string} code */
async function messages(file, code) {
  const [result] = await ruleOnly.lintText(code, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).map((m) => m.message);
}

test('a reverse import fails the lint: a lower layer importing a higher one', async () => {
  assert.deepEqual(await messages('libs/apk/src/fixture.ts', "import { acceptTask } from '@subpack/workflow';\nexport { acceptTask };\n"), [
    '@subpack/apk (layer:base) must not import @subpack/workflow (layer:app, a higher layer); imports go down the layers: ' +
      'layer:rules < layer:base < layer:io < layer:core < layer:app < layer:interface < layer:service < layer:test',
  ]);
  assert.match((await messages('libs/rules/src/fixture.ts', "export * from '@subpack/contracts';\n"))[0] ?? '', /@subpack\/rules \(layer:rules\) must not import @subpack\/contracts/);
  assert.match((await messages('libs/pack/src/fixture.ts', "export const load = () => import('@subpack/runtime');\n"))[0] ?? '', /must not import @subpack\/runtime \(layer:core, the same layer\)/);
  assert.match((await messages('cli/src/fixture.ts', "import { main } from '@subpack/packer';\nvoid main;\n"))[0] ?? '', /subpack \(layer:service\) must not import @subpack\/packer \(layer:service, the same layer\)/);
  assert.match((await messages('libs/pack/src/fixture.ts', "import { TaskStore } from '@subpack/workflow';\nvoid TaskStore;\n"))[0] ?? '', /@subpack\/pack \(layer:core\) must not import @subpack\/workflow \(layer:app, a higher layer\)/);
});

test('downward, declared imports pass; test fixtures only in tests; no undeclared packages or paths into other projects', async () => {
  assert.deepEqual(await messages('libs/workflow/src/fixture.ts', "import { preparePack } from '@subpack/pack';\nimport { readFile } from 'node:fs/promises';\nvoid preparePack; void readFile;\n"), []);
  assert.deepEqual(await messages('libs/messaging/src/fixture.ts', "import { QUEUES } from '@subpack/contracts';\nvoid QUEUES;\n"), []);
  assert.deepEqual(await messages('libs/apk/src/fixture.test.ts', "import { standardApks } from '@subpack/testing';\nvoid standardApks;\n"), []);
  assert.match((await messages('libs/apk/src/fixture.ts', "import { standardApks } from '@subpack/testing';\nvoid standardApks;\n"))[0] ?? '', /@subpack\/testing builds test fixtures; only tests may import it/);
  assert.deepEqual(await messages('libs/rules/src/fixture.ts', "import Redis from 'ioredis';\nvoid Redis;\n"), [
    '@subpack/rules imports ioredis but its package.json does not declare it in dependencies',
  ]);
  assert.match((await messages('libs/pack/src/fixture.ts', "import { planChannel } from '../../apk/src/channels/plan';\nvoid planChannel;\n"))[0] ?? '', /a path outside its own directory/);
});

test('the repository\'s own lint configuration carries the rule', { timeout: 300_000 }, async () => {
  const real = new ESLint({ cwd: ROOT });
  const [result] = await real.lintText("import { acceptTask } from '@subpack/workflow';\nexport const reverse = acceptTask;\n", { filePath: join(ROOT, 'libs/apk/src/index.ts') });
  assert.ok(result?.messages.some((m) => m.ruleId === 'subpack/layering' && /must not import @subpack\/workflow/.test(m.message)), JSON.stringify(result?.messages));
});

test('at most three same-layer exceptions, each between test projects', async () => {
  const { SAME_LAYER_IMPORTS } = await import('./package-graph.mjs');
  const pairs = [...SAME_LAYER_IMPORTS].flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`));
  assert.ok(pairs.length <= 3, pairs.join(', '));
  assert.deepEqual(pairs, ['@subpack/bench -> @subpack/e2e', '@subpack/deploy -> @subpack/e2e', '@subpack/console -> @subpack/e2e']);
});
