import type { ApkLayout } from '../apk-layout';
import type { ByteSource } from '../zip/byte-source';
import { PAIR_IDS } from '../signing/pairs';
import { readEntry } from '../zip/entries';
import { META_INF_CHANNEL_ENTRY, decodePackerNg, decodeVasDolly, decodeVasDollyComment, decodeWalle, type ChannelInfo } from './payloads';

export type FoundFormat = 'walle' | 'vasdolly' | 'v1-comment' | 'meta-inf' | 'packer-ng';

export interface FoundChannel extends ChannelInfo {
  format: FoundFormat;
}

const MAX_META_INF_CHANNEL_BYTES = 1024 * 1024;

/**
 * Every channel already written into the APK, in any format subpack knows, in a stable order. `layout` is the one
 * read from `src`, which is read again only for a META-INF channel entry.
 */
export async function readChannels(src: ByteSource, layout: ApkLayout): Promise<FoundChannel[]> {
  const found: FoundChannel[] = [];
  for (const pair of layout.signingBlock?.pairs ?? []) {
    if (pair.id === PAIR_IDS.walle) found.push({ format: 'walle', ...decodeWalle(pair.value) });
    else if (pair.id === PAIR_IDS.vasdolly) found.push({ format: 'vasdolly', ...decodeVasDolly(pair.value) });
    else if (pair.id === PAIR_IDS.packerNg) found.push({ format: 'packer-ng', ...decodePackerNg(pair.value) });
  }
  const fromComment = decodeVasDollyComment(layout.eocd.comment);
  if (fromComment) found.push({ format: 'v1-comment', ...fromComment });
  if (layout.entries.some((e) => e.name === META_INF_CHANNEL_ENTRY)) {
    const data = await readEntry(src, META_INF_CHANNEL_ENTRY, { maxBytes: MAX_META_INF_CHANNEL_BYTES });
    if (data) found.push({ format: 'meta-inf', ...decodeWalle(data) });
  }
  return found;
}
