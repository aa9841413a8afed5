import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAIR_IDS, pairHexId, pairName } from './pairs';

test('signing-block pairs have names for inspect', () => {
  assert.equal(pairName(PAIR_IDS.walle), 'Walle channel');
  assert.equal(pairName(PAIR_IDS.v2), 'v2 signature');
  assert.equal(pairName(0x12345678), 'unknown');
  assert.equal(pairHexId(PAIR_IDS.v2), '0x7109871a');
});
