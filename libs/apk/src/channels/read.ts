import { inflateRawSync } from 'node:zlib';
import type { ApkLayout } from '../apk-layout';
import { ApkError } from '../errors';
import { PAIR_IDS } from '../signing/signing-block';
import { withFileSource } from '../zip/file-source';
import { META_INF_CHANNEL_ENTRY, decodePackerNg, decodeVasDolly, decodeVasDollyComment, decodeWalle, type ChannelInfo } from './payloads';

export type FoundFormat = 'walle' | 'vasdolly' | 'v1-comment' | 'meta-inf' | 'packer-ng';

export interface FoundChannel extends ChannelInfo {
  format: FoundFormat;
}

const MAX_META_INF_CHANNEL_BYTES = 1024 * 1024;

/** Every channel already written into the APK, in any format subpack knows, in a stable order. */
export async function readChannels(layout: ApkLayout): Promise<FoundChannel[]> {
  const found: FoundChannel[] = [];
  for (const pair of layout.signingBlock?.pairs ?? []) {
    if (pair.id === PAIR_IDS.walle) found.push({ format: 'walle', ...decodeWalle(pair.value) });
    else if (pair.id === PAIR_IDS.vasdolly) found.push({ format: 'vasdolly', ...decodeVasDolly(pair.value) });
    else if (pair.id === PAIR_IDS.packerNg) found.push({ format: 'packer-ng', ...decodePackerNg(pair.value) });
  }
  const fromComment = decodeVasDollyComment(layout.eocd.comment);
  if (fromComment) found.push({ format: 'v1-comment', ...fromComment });
  const entry = layout.entries.find((e) => e.name === META_INF_CHANNEL_ENTRY);
  if (entry) {
    if (entry.compressedSize > MAX_META_INF_CHANNEL_BYTES || entry.uncompressedSize > MAX_META_INF_CHANNEL_BYTES) {
      throw new ApkError('BAD_CHANNEL', `${layout.path}: ${META_INF_CHANNEL_ENTRY} is implausibly large`);
    }
    const data = await withFileSource(layout.path, async (src) => {
      const lfh = await src.read(entry.localHeaderOffset, 30);
      if (lfh.readUInt32LE(0) !== 0x04034b50) {
        throw new ApkError('BAD_CENTRAL_DIRECTORY', `${layout.path}: ${META_INF_CHANNEL_ENTRY} has no local file header`);
      }
      const start = entry.localHeaderOffset + 30 + lfh.readUInt16LE(26) + lfh.readUInt16LE(28);
      const raw = await src.read(start, entry.compressedSize);
      return entry.method === 8 ? inflateRawSync(raw) : raw;
    });
    found.push({ format: 'meta-inf', ...decodeWalle(data) });
  }
  return found;
}
