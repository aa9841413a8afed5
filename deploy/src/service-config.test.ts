// The discovery of variables read straight from the environment, on a package written for the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@subpack/testing';
import { directEnvReads, readsVariable } from './service-config';

test('direct reads, helper reads and prefix families are found; tests and test-support are not running code', async () => {
  const dir = await makeTempDir('subpack-env-reads-');
  try {
    mkdirSync(join(dir, 'src', 'test-support'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"dependencies": {}}');
    writeFileSync(
      join(dir, 'src', 'config.ts'),
      [
        "const a = process.env.SUBPACK_ALPHA;",
        "const b = env['SUBPACK_BETA'];",
        "const c = positiveNumber(env, 'SUBPACK_GAMMA', 16);",
        "const d = process.env.lowercase;",
      ].join('\n'),
    );
    writeFileSync(join(dir, 'src', 'secrets.ts'), "const P = 'SUBPACK_KEY_';\nfor (const [k] of Object.entries(process.env)) if (k.startsWith(P)) use(k);\n");
    writeFileSync(join(dir, 'src', 'labels.ts'), "const CODES = ['ERROR_CODE_'];\n");
    writeFileSync(join(dir, 'src', 'config.test.ts'), 'process.env.SUBPACK_TEST_ONLY;');
    writeFileSync(join(dir, 'src', 'test-support', 'env.ts'), 'process.env.SUBPACK_SUPPORT_ONLY;');
    const found = directEnvReads(dir);
    assert.deepEqual([...found.names].sort(), ['SUBPACK_ALPHA', 'SUBPACK_BETA', 'SUBPACK_GAMMA']);
    assert.deepEqual([...found.prefixes], ['SUBPACK_KEY_']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a family matches names that extend its prefix, an exact variable only itself', () => {
  const variables = [
    { env: 'SUBPACK_KEY_', describe: '', required: false, prefix: true },
    { env: 'HTTP_PORT', describe: '', required: false },
  ];
  assert.equal(readsVariable(variables, 'SUBPACK_KEY_ci'), true);
  assert.equal(readsVariable(variables, 'SUBPACK_KEY_'), false);
  assert.equal(readsVariable(variables, 'HTTP_PORT'), true);
  assert.equal(readsVariable(variables, 'HTTP_PORTS'), false);
});
