import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apksignerVerify, makeTempDir, removeDir, standardApks, frameworkResApk, type StandardApks, type VerifyResult } from '@subpack/testing';
import { readApkLayout, type ApkLayout } from '../apk-layout';
import { ApkError } from '../errors';
import { PAIR_IDS } from '../signing/pairs';
import { SIGNING_BLOCK_ALIGNMENT, buildSigningBlock, parseSigningBlock } from '../signing/signing-block';
import { encodePackerNg } from './payloads';
import type { PackFormat } from '@subpack/rules';
import { planChannel } from './plan';
import { readChannels, type FoundChannel } from './read';
import { PrefixDigests } from '../digests';
import { loadSource } from '../test-support/load-source';

/** A plan as bytes on disk, the plain way (the fast writer is libs/storage's file target, tested there). */
async function writePlanToFile(master: string, plan: { prefixLength: number; tail: Buffer }, out: string): Promise<void> {
  const bytes = await readFile(master);
  await writeFile(out, Buffer.concat([bytes.subarray(0, plan.prefixLength), plan.tail]));
}

let apks: StandardApks;
let dir: string;
let outCounter = 0;
const masterVerify = new Map<string, VerifyResult>();

before(async () => {
  apks = await standardApks();
  dir = await makeTempDir('subpack-channels-');
});
after(async () => removeDir(dir));

async function schemesOf(path: string): Promise<VerifyResult> {
  let v = masterVerify.get(path);
  if (!v) {
    v = await apksignerVerify(path);
    masterVerify.set(path, v);
  }
  return v;
}

/** The channels an APK file carries, read as `subpack inspect` reads them. */
async function channelsIn(path: string): Promise<FoundChannel[]> {
  const src = await loadSource(path);
  return readChannels(src, await readApkLayout(src));
}

function sameSchemes(a: VerifyResult, b: VerifyResult): void {
  assert.deepEqual({ v1: a.v1, v2: a.v2, v3: a.v3, v31: a.v31 }, { v1: b.v1, v2: b.v2, v3: b.v3, v31: b.v31 });
}

async function packOne(master: string, format: PackFormat, channel: string, extras: Record<string, string> = {}): Promise<{ out: string; layout: ApkLayout }> {
  const layout = await readApkLayout(await loadSource(master));
  const plan = planChannel(layout, format, { channel, extras });
  const out = join(dir, `out-${++outCounter}-${format}.apk`);
  await writePlanToFile(master, plan, out);
  assert.equal((await readFile(out)).length, plan.size);
  return { out, layout };
}

describe('signing-block formats on v2+ APKs', () => {
  for (const name of ['v2Only', 'v1v2v3', 'rotated', 'verity', 'chinese'] as const) {
    test(`${name}: auto writes Walle and VasDolly pairs, verifies with the master's schemes, reads back`, async () => {
      const master = apks[name];
      const { out } = await packOne(master, 'auto', '华为-huawei', { campaign: 'spring', partner: '渠道7' });
      sameSchemes(await apksignerVerify(out), await schemesOf(master));
      const found = await channelsIn(out);
      assert.deepEqual(
        found.map((f) => [f.format, f.channel]),
        [
          ['walle', '华为-huawei'],
          ['vasdolly', '华为-huawei'],
        ],
      );
      assert.deepEqual(found[0]?.extras, { campaign: 'spring', partner: '渠道7' });
    });
  }

  test('keeps every existing pair in order and the block start fixed', async () => {
    const before = await readApkLayout(await loadSource(apks.v1v2v3));
    const { out } = await packOne(apks.v1v2v3, 'walle', 'xiaomi');
    const afterLayout = await readApkLayout(await loadSource(out));
    assert.equal(afterLayout.signingBlock?.offset, before.signingBlock?.offset);
    const ids = (l: ApkLayout): number[] => (l.signingBlock?.pairs ?? []).map((p) => p.id).filter((id) => id !== PAIR_IDS.verityPadding);
    assert.deepEqual(ids(afterLayout), [...ids(before), PAIR_IDS.walle]);
    assert.ok(afterLayout.cd.equals(before.cd), 'central directory bytes unchanged');
  });

  test('re-pads to 4096 when the original block was aligned (verity), and when it had no padding pair', async () => {
    const verity = await readApkLayout(await loadSource(apks.verity));
    assert.equal(verity.signingBlock!.size % SIGNING_BLOCK_ALIGNMENT, 0);
    const { out } = await packOne(apks.verity, 'auto', 'c'.repeat(5000));
    const l = await readApkLayout(await loadSource(out));
    assert.equal(l.signingBlock!.size % SIGNING_BLOCK_ALIGNMENT, 0);
    assert.equal(l.signingBlock!.offset % 4096, verity.signingBlock!.offset % 4096);
    await apksignerVerify(out);

    // An aligned block without a padding pair: Walle and VasDolly leave it unaligned; we must re-pad.
    const pairs = verity.signingBlock!.pairs.filter((p) => p.id !== PAIR_IDS.verityPadding);
    const filler = SIGNING_BLOCK_ALIGNMENT - ((8 + pairs.reduce((n, p) => n + 12 + p.value.length, 0) + 24) % SIGNING_BLOCK_ALIGNMENT) - 12;
    const exact = buildSigningBlock([...pairs, { id: 0x12345678, value: Buffer.alloc(filler) }], false);
    assert.equal(exact.length % SIGNING_BLOCK_ALIGNMENT, 0);
    const rebuilt = planChannel({ ...verity, signingBlock: { offset: verity.signingBlock!.offset, size: exact.length, pairs: parseSigningBlock(exact, 'x') } }, 'walle', { channel: 'x', extras: {} });
    const block = rebuilt.tail.subarray(0, rebuilt.tail.length - verity.cd.length - verity.eocd.raw.length);
    assert.equal(block.length % SIGNING_BLOCK_ALIGNMENT, 0);
    assert.ok(parseSigningBlock(block, 'x').some((p) => p.id === PAIR_IDS.verityPadding));
  });

  test('re-channeling a channel APK replaces the pair instead of adding a second one', async () => {
    const { out: first } = await packOne(apks.v2Only, 'auto', 'first');
    const { out: second } = await packOne(first, 'auto', 'second');
    const found = await channelsIn(second);
    assert.deepEqual(found.map((f) => f.channel), ['second', 'second']);
    await apksignerVerify(second);
  });

  test('refuses v1-comment and meta-inf on a v2+ APK, naming what works', async () => {
    const layout = await readApkLayout(await loadSource(apks.v2Only));
    for (const f of ['v1-comment', 'meta-inf'] as const) {
      assert.throws(() => planChannel(layout, f, { channel: 'x', extras: {} }), (e: unknown) => e instanceof ApkError && e.code === 'FORMAT_NOT_APPLICABLE' && /auto, walle or vasdolly/.test(e.message));
    }
  });

  test('vasdolly refuses extras', async () => {
    const layout = await readApkLayout(await loadSource(apks.v2Only));
    assert.throws(() => planChannel(layout, 'vasdolly', { channel: 'x', extras: { a: 'b' } }), /carries only the channel id/);
  });

  test('reads a packer-ng v2 pair', async () => {
    const src = await loadSource(apks.v2Only);
    const layout = await readApkLayout(src);
    const block = layout.signingBlock!;
    const withNg = { ...layout, signingBlock: { ...block, pairs: [...block.pairs, { id: PAIR_IDS.packerNg, value: encodePackerNg({ channel: 'ng-chan', extras: { k: 'v' } }) }] } };
    const found = await readChannels(src, withNg);
    assert.deepEqual(found, [{ format: 'packer-ng', channel: 'ng-chan', extras: { k: 'v' } }]);
  });

  test('framework-res.apk (45 MB, 7,600 entries) channel APK verifies', async () => {
    const master = await frameworkResApk();
    const { out, layout } = await packOne(master, 'auto', 'big');
    assert.ok(layout.entries.length > 7000);
    sameSchemes(await apksignerVerify(out), await schemesOf(master));
  });
});

describe('v1-only APKs', () => {
  test('auto writes the VasDolly comment and verifies', async () => {
    const { out } = await packOne(apks.v1Only, 'auto', 'oppo-商店');
    sameSchemes(await apksignerVerify(out), await schemesOf(apks.v1Only));
    assert.deepEqual(await channelsIn(out), [{ format: 'v1-comment', channel: 'oppo-商店', extras: {} }]);
  });

  test('meta-inf adds an entry with extras and verifies', async () => {
    const { out } = await packOne(apks.v1Only, 'meta-inf', 'vivo', { campaign: 'x' });
    sameSchemes(await apksignerVerify(out), await schemesOf(apks.v1Only));
    assert.deepEqual(await channelsIn(out), [{ format: 'meta-inf', channel: 'vivo', extras: { campaign: 'x' } }]);
  });

  test('walle and vasdolly are refused with the formats that would work', async () => {
    const layout = await readApkLayout(await loadSource(apks.v1Only));
    for (const f of ['walle', 'vasdolly'] as const) {
      assert.throws(() => planChannel(layout, f, { channel: 'x', extras: {} }), (e: unknown) => e instanceof ApkError && e.code === 'NO_SIGNING_BLOCK' && /v1-comment/.test(e.message));
    }
  });

  test('auto with extras on v1-only points at meta-inf', async () => {
    const layout = await readApkLayout(await loadSource(apks.v1Only));
    assert.throws(() => planChannel(layout, 'auto', { channel: 'x', extras: { a: 'b' } }), /use meta-inf/);
  });

  test('a comment that cannot grow is refused', async () => {
    const layout = await readApkLayout(await loadSource(apks.v1Only));
    const long = { ...layout, eocd: { ...layout.eocd, comment: Buffer.alloc(65530) } };
    assert.throws(() => planChannel(long, 'v1-comment', { channel: 'channel', extras: {} }), (e: unknown) => e instanceof ApkError && e.code === 'COMMENT_TOO_LONG');
  });
});

test('prefix digests plus tail equal the digests of the written file', async () => {
  const layout = await readApkLayout(await loadSource(apks.chinese));
  const plan = planChannel(layout, 'auto', { channel: 'digest', extras: {} });
  const out = join(dir, 'digest.apk');
  await writePlanToFile(apks.chinese, plan, out);
  const bytes = await readFile(out);
  const digests = (await PrefixDigests.fromChunks(apks.chinese, plan.prefixLength, [await readFile(apks.chinese)])).withTail(plan.tail);
  assert.equal(digests.md5, createHash('md5').update(bytes).digest('hex'));
  assert.equal(digests.sha256, createHash('sha256').update(bytes).digest('hex'));
});
