import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { readApkLayout } from '../apk-layout';
import { planChannel } from '../channels/plan';
import { META_INF_CHANNEL_ENTRY } from '../channels/payloads';
import { PAIR_IDS } from '../signing/pairs';
import { buildSigningBlock, parseSigningBlock } from '../signing/signing-block';
import {
  CD_RECORD,
  EOCD,
  LOCAL_FILE_HEADER,
  SIGNING_BLOCK_FOOTER,
  SIGNING_BLOCK_HEADER,
  SIGNING_BLOCK_PAIR,
  ZIP64_EOCD_LOCATOR,
} from './records';
import { loadSource } from '../test-support/load-source';

interface AnyRecord {
  readonly name: string;
  readonly size: number;
  matches(bytes: Buffer, at: number): boolean;
  read(bytes: Buffer, at: number): Record<string, number>;
  write(values: Record<string, number>): Buffer;
}

/** Each record's fixed bytes, read from a real archive and written back from what was read, are unchanged. */
function assertRoundTrip(layout: AnyRecord, bytes: Buffer, at: number): void {
  assert.ok(layout.matches(bytes, at), `${layout.name} at ${at}`);
  const original = bytes.subarray(at, at + layout.size);
  assert.deepEqual(layout.write(layout.read(bytes, at)), original, `${layout.name} at ${at} written back`);
}

describe('ZIP record tables', () => {
  it('EOCD: the fixed sizes and offsets of APPNOTE', () => {
    assert.equal(EOCD.size, 22);
    assert.deepEqual(EOCD.fields.cdOffset, { offset: 16, size: 4 });
    assert.deepEqual(EOCD.fields.commentLength, { offset: 20, size: 2 });
    assert.equal(CD_RECORD.size, 46);
    assert.deepEqual(CD_RECORD.fields.nameLength, { offset: 28, size: 2 });
    assert.deepEqual(CD_RECORD.fields.localHeaderOffset, { offset: 42, size: 4 });
    assert.equal(LOCAL_FILE_HEADER.size, 30);
    assert.deepEqual(LOCAL_FILE_HEADER.fields.nameLength, { offset: 26, size: 2 });
    assert.equal(ZIP64_EOCD_LOCATOR.size, 20);
    assert.equal(SIGNING_BLOCK_PAIR.size, 12);
    assert.equal(SIGNING_BLOCK_FOOTER.size, 24);
  });

  it('EOCD, CD records and local headers of a real signed APK read and write back byte for byte', async () => {
    const path = await standardApk('v1v2v3');
    const bytes = await readFile(path);
    const layout = await readApkLayout(await loadSource(path));
    assertRoundTrip(EOCD, bytes, layout.eocd.offset);
    assert.equal(EOCD.read(bytes, layout.eocd.offset).cdOffset, layout.eocd.cdOffset);
    let at = layout.eocd.cdOffset;
    for (const entry of layout.entries) {
      assertRoundTrip(CD_RECORD, bytes, at);
      assertRoundTrip(LOCAL_FILE_HEADER, bytes, entry.localHeaderOffset);
      const { nameLength, extraLength, commentLength } = CD_RECORD.read(bytes, at);
      assert.equal(LOCAL_FILE_HEADER.read(bytes, entry.localHeaderOffset).crc32, entry.crc32);
      at += CD_RECORD.size + nameLength + extraLength + commentLength;
    }
    assert.equal(at, layout.eocd.offset);
  });

  it('the signing block of a real v2 APK: header, every pair header and footer read and write back', async () => {
    const path = await standardApk('verity');
    const bytes = await readFile(path);
    const layout = await readApkLayout(await loadSource(path));
    const block = layout.signingBlock;
    assert.ok(block);
    assertRoundTrip(SIGNING_BLOCK_HEADER, bytes, block.offset);
    const footerAt = block.offset + block.size - SIGNING_BLOCK_FOOTER.size;
    assertRoundTrip(SIGNING_BLOCK_FOOTER, bytes, footerAt);
    assert.equal(SIGNING_BLOCK_FOOTER.read(bytes, footerAt).size, block.size - SIGNING_BLOCK_HEADER.size);
    let p = block.offset + SIGNING_BLOCK_HEADER.size;
    for (const pair of block.pairs) {
      assertRoundTrip(SIGNING_BLOCK_PAIR, bytes, p);
      assert.equal(SIGNING_BLOCK_PAIR.read(bytes, p).id, pair.id);
      p += SIGNING_BLOCK_PAIR.size + pair.value.length;
    }
    assert.equal(p, footerAt);
    // Serialising the parsed pairs as they are (padding pair included) gives back the signer's block exactly.
    const original = bytes.subarray(block.offset, block.offset + block.size);
    assert.ok(block.pairs.some((pair) => pair.id === PAIR_IDS.verityPadding));
    assert.deepEqual(buildSigningBlock(parseSigningBlock(original, path), false), original);
  });

  it('ZIP64 locator: values written are the values read, and the signature is checked', () => {
    const values = { eocd64Disk: 0, eocd64Offset: 2 ** 40 + 7, diskCount: 1 };
    const bytes = ZIP64_EOCD_LOCATOR.write(values);
    assert.ok(ZIP64_EOCD_LOCATOR.matches(bytes));
    assert.deepEqual(ZIP64_EOCD_LOCATOR.read(bytes), values);
    assert.equal(EOCD.matches(bytes), false, 'another record\'s signature does not match');
    assert.equal(ZIP64_EOCD_LOCATOR.matches(bytes.subarray(0, 19)), false, 'a record cut short does not match');
  });

  it('patch writes only the named fields and refuses a constant one', () => {
    const bytes = EOCD.write({ diskNumber: 0, cdDisk: 0, entriesOnDisk: 3, entryCount: 3, cdSize: 100, cdOffset: 5000, commentLength: 0 });
    EOCD.patch(bytes, 0, { cdOffset: 6000 });
    assert.deepEqual(EOCD.read(bytes), { diskNumber: 0, cdDisk: 0, entriesOnDisk: 3, entryCount: 3, cdSize: 100, cdOffset: 6000, commentLength: 0 });
    assert.throws(() => EOCD.patch(bytes, 0, { signature: 1 } as never), /signature is not a number field/);
  });

  it('the META-INF plan writes a local header and CD record that unzip reads and the tables read back', async () => {
    const path = await standardApk('v1Only');
    const layout = await readApkLayout(await loadSource(path));
    const plan = planChannel(layout, 'meta-inf', { channel: 'vivo', extras: {} });
    const lfh = LOCAL_FILE_HEADER.read(plan.tail);
    assert.ok(LOCAL_FILE_HEADER.matches(plan.tail));
    const data = plan.tail.subarray(LOCAL_FILE_HEADER.size + lfh.nameLength, LOCAL_FILE_HEADER.size + lfh.nameLength + lfh.compressedSize);
    assert.equal(data.toString(), '{"channel":"vivo"}');
    const recordAt = LOCAL_FILE_HEADER.size + lfh.nameLength + data.length + layout.cd.length;
    assert.ok(CD_RECORD.matches(plan.tail, recordAt));
    const record = CD_RECORD.read(plan.tail, recordAt);
    assert.equal(record.localHeaderOffset, layout.eocd.cdOffset);
    assert.equal(record.crc32, lfh.crc32);
    const eocd = EOCD.read(plan.tail, plan.tail.length - EOCD.size - layout.eocd.comment.length);
    assert.equal(eocd.entryCount, layout.entries.length + 1);
    const dir = await makeTempDir('subpack-records-');
    try {
      const out = join(dir, 'vivo.apk');
      await writeFile(out, Buffer.concat([(await readFile(path)).subarray(0, plan.prefixLength), plan.tail]));
      assert.equal(execFileSync('unzip', ['-p', out, META_INF_CHANNEL_ENTRY]).toString(), '{"channel":"vivo"}');
    } finally {
      await removeDir(dir);
    }
  });
});
