import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { standardApk } from '@subpack/testing';
import { readEntry } from '../zip/entries';
import { parseBinaryXml, type XmlElement } from './axml';
import { ANDROID_NS, buildXml, chunk, hardenXml, splitXml, T, u32, type XmlElementSpec } from './test-support/res-writer';
import { loadSource } from '../test-support/load-source';

const SPEC: XmlElementSpec = {
  name: 'manifest',
  attrs: [
    { name: 'package', type: T.STRING, string: 'com.example.synthetic' },
    { name: 'versionCode', ns: ANDROID_NS, resId: 0x0101021b, type: T.INT_DEC, data: 7 },
    { name: 'versionName', ns: ANDROID_NS, resId: 0x0101021c, type: T.STRING, string: '版本 7' },
  ],
  children: [
    { name: 'uses-sdk', attrs: [{ name: 'minSdkVersion', ns: ANDROID_NS, resId: 0x0101020c, type: T.INT_DEC, data: 24 }] },
    {
      name: 'application',
      attrs: [
        { name: 'label', ns: ANDROID_NS, resId: 0x01010001, type: T.REFERENCE, data: 0x7f010000 },
        { name: 'debuggable', ns: ANDROID_NS, resId: 0x0101000f, type: T.BOOL, data: 0xffffffff },
        { name: 'flags', type: T.INT_HEX, data: 0x80000000 },
      ],
      children: [{ name: 'activity', attrs: [] }],
    },
  ],
};
const doc = buildXml(SPEC);

function summary(elements: XmlElement[]): string[] {
  return elements.map((e) => `${e.depth}:${e.name ?? '?'}`);
}

describe('parseBinaryXml', () => {
  for (const utf8 of [false, true]) {
    it(`reads elements, depths and typed attributes (${utf8 ? 'UTF-8' : 'UTF-16'} pool)`, () => {
      const xml = parseBinaryXml(buildXml(SPEC, { utf8 }));
      assert.equal(xml.strings.utf8, utf8);
      assert.deepEqual(summary(xml.elements), ['1:manifest', '2:uses-sdk', '2:application', '3:activity']);
      const [manifest, , application] = xml.elements;
      assert.deepEqual(manifest?.attributes.map((a) => [a.namespace, a.name, a.resourceId, a.rawValue, a.value]), [
        [null, 'package', 0, 'com.example.synthetic', { kind: 'string', value: 'com.example.synthetic' }],
        [ANDROID_NS, 'versionCode', 0x0101021b, null, { kind: 'int', value: 7, hex: false }],
        [ANDROID_NS, 'versionName', 0x0101021c, '版本 7', { kind: 'string', value: '版本 7' }],
      ]);
      assert.deepEqual(application?.attributes.map((a) => a.value), [
        { kind: 'reference', id: 0x7f010000, dynamic: false },
        { kind: 'bool', value: true },
        { kind: 'int', value: -0x80000000, hex: true },
      ]);
    });
  }

  it('does not check the outer chunk type, and skips unknown chunks', () => {
    const patched = Buffer.from(doc);
    patched.writeUInt16LE(0xbeef, 0);
    assert.deepEqual(summary(parseBinaryXml(patched).elements), summary(parseBinaryXml(doc).elements));

    // An unknown chunk before the pool and one between nodes.
    const [pool, map, ...nodes] = splitXml(doc);
    const junkTop = chunk(0x0666, Buffer.alloc(0), Buffer.alloc(12, 0xaa));
    const junkNode = chunk(0x0199, Buffer.alloc(8), Buffer.alloc(4, 0xbb));
    const body = Buffer.concat([junkTop, pool!, map!, nodes[0]!, junkNode, ...nodes.slice(1)]);
    const withJunk = chunk(0x0003, Buffer.alloc(0), body);
    assert.deepEqual(summary(parseBinaryXml(withJunk).elements), summary(parseBinaryXml(doc).elements));
  });

  it('honours node headerSize, attributeStart and attributeSize (a hardened layout)', async () => {
    const real = (await readEntry(await loadSource(await standardApk('chinese')), 'AndroidManifest.xml', { maxBytes: 1 << 20 }))!;
    const hardened = hardenXml(real);
    assert.notDeepEqual(hardened, real);
    assert.equal(hardened.readUInt16LE(0), 0x7e57);
    const a = parseBinaryXml(real);
    const b = parseBinaryXml(hardened);
    assert.deepEqual(summary(b.elements), summary(a.elements));
    assert.deepEqual(
      b.elements.map((e) => e.attributes),
      a.elements.map((e) => e.attributes),
    );
    assert.ok(a.elements[0]!.attributes.length >= 3);
  });

  it('fails clearly on truncated, garbage and empty input', () => {
    assert.throws(() => parseBinaryXml(doc.subarray(0, doc.length - 10)), /truncated: the XML header says \d+ bytes but only \d+ are present/);
    assert.throws(() => parseBinaryXml(Buffer.alloc(0)), /too short to be binary XML \(0 bytes\)/);
    assert.throws(() => parseBinaryXml(Buffer.from('<?xml version="1.0"?><manifest/>')), /binary XML|truncated/);
    // A document whose header is fine but whose only chunk claims more bytes than there are.
    const lying = chunk(0x0003, Buffer.alloc(0), Buffer.concat([u32(0x00080001), u32(0x1000)]));
    assert.throws(() => parseBinaryXml(lying), /runs past the end/);
    // Header intact, string pool gone.
    const [, map, ...nodes] = splitXml(doc);
    assert.throws(() => parseBinaryXml(chunk(0x0003, Buffer.alloc(0), Buffer.concat([map!, ...nodes]))), /no string pool/);
  });

  it('rejects a start element whose attributes overflow the node, as ResXMLTree does', () => {
    const [pool, map, ns, start, ...rest] = splitXml(doc);
    const bad = Buffer.from(start!);
    bad.writeUInt16LE(500, 16 + 12); // attributeCount
    assert.throws(
      () => parseBinaryXml(chunk(0x0003, Buffer.alloc(0), Buffer.concat([pool!, map!, ns!, bad, ...rest]))),
      /500 attributes of 20 bytes from 20 do not fit in the node/,
    );
  });
});
