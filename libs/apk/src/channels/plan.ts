import { crc32 } from 'node:zlib';
import type { PackFormat } from '@subpack/rules';
import { hasV2PlusSignature, type ApkLayout } from '../apk-layout';
import { ApkError } from '../errors';
import { PAIR_IDS } from '../signing/pairs';
import { rebuildWithPairs, type SigningBlockPair } from '../signing/signing-block';
import { MAX_COMMENT_LENGTH, patchEocd } from '../zip/eocd';
import { CD_RECORD, LOCAL_FILE_HEADER, U32_MAX, ZIP64_MARKER, ZIP_FLAG_UTF8_NAME, ZIP_METHOD } from '../zip/records';
import { META_INF_CHANNEL_ENTRY, appendVasDollyComment, encodeVasDolly, encodeWalle, type ChannelInfo } from './payloads';

export type ConcreteFormat = Exclude<PackFormat, 'auto'>;

/**
 * A channel APK is `master[0:prefixLength] ++ tail`. Every format leaves a prefix of the master untouched, so a plan
 * costs O(tail) to make and nothing about the master's bulk is read or copied in user space.
 */
export interface ChannelPlan {
  prefixLength: number;
  tail: Buffer;
  /** Final size of the channel APK. */
  size: number;
}

/** The format(s) `auto` stands for on this APK: both block pairs on v2+, VasDolly's comment on v1-only. */
export function resolveFormat(layout: ApkLayout, format: PackFormat): ConcreteFormat[] {
  if (format !== 'auto') return [format];
  return layout.signingBlock ? ['walle', 'vasdolly'] : ['v1-comment'];
}

/**
 * Refuses an unsigned APK (no v1 signature files and no signing block): every channel written from it would fail
 * verification, and signing afterwards would drop v2+ channel data anyway.
 */
export function assertSigned(layout: ApkLayout): void {
  if (!layout.schemes.v1 && layout.signingBlock === null) {
    throw new ApkError('NOT_SIGNED', `${layout.path}: not signed: sign the APK before writing channels`);
  }
}

/** Refuses a format that would break this APK's signature or that it cannot hold, naming the format that would work. */
export function checkFormatFits(layout: ApkLayout, format: PackFormat, hasExtras: boolean): void {
  assertSigned(layout);
  const v2plus = hasV2PlusSignature(layout) || layout.signingBlock !== null;
  const inBlock = format === 'walle' || format === 'vasdolly';
  if (inBlock && !layout.signingBlock) {
    throw new ApkError(
      'NO_SIGNING_BLOCK',
      `${layout.path}: format ${format} writes into the APK Signing Block, but this APK has none (v1-only signature); ` +
        'use --format v1-comment (VasDolly\'s v1 reader) or meta-inf',
    );
  }
  if ((format === 'v1-comment' || format === 'meta-inf') && v2plus) {
    throw new ApkError(
      'FORMAT_NOT_APPLICABLE',
      `${layout.path}: format ${format} changes bytes covered by the v2/v3 signature (the ${format === 'v1-comment' ? 'ZIP comment' : 'central directory'}); ` +
        'use --format auto, walle or vasdolly, which write into the APK Signing Block',
    );
  }
  if (hasExtras) {
    const carriesExtras = format === 'walle' || format === 'meta-inf' || (format === 'auto' && layout.signingBlock !== null);
    if (!carriesExtras) {
      throw new ApkError(
        'FORMAT_NOT_APPLICABLE',
        `format ${format === 'auto' ? 'auto (v1-comment on this v1-only APK)' : format} carries only the channel id, not extras; ` +
          `use ${layout.signingBlock ? 'walle or auto' : 'meta-inf'} to write extras`,
      );
    }
  }
}

/** The prefix every channel of this master shares for the given format. */
export function prefixLengthFor(layout: ApkLayout, format: PackFormat): number {
  const formats = resolveFormat(layout, format);
  if (formats.includes('v1-comment')) return layout.eocd.offset;
  if (formats.includes('meta-inf')) return layout.eocd.cdOffset;
  if (!layout.signingBlock) throw new ApkError('NO_SIGNING_BLOCK', `${layout.path}: no APK Signing Block`);
  return layout.signingBlock.offset;
}

export function planChannel(layout: ApkLayout, format: PackFormat, info: ChannelInfo): ChannelPlan {
  const hasExtras = Object.keys(info.extras).length > 0;
  checkFormatFits(layout, format, hasExtras);
  const formats = resolveFormat(layout, format);
  if (formats.includes('v1-comment')) return planComment(layout, info);
  if (formats.includes('meta-inf')) return planMetaInf(layout, info);
  const pairs: SigningBlockPair[] = [];
  if (formats.includes('walle')) pairs.push({ id: PAIR_IDS.walle, value: encodeWalle(info) });
  if (formats.includes('vasdolly')) pairs.push({ id: PAIR_IDS.vasdolly, value: encodeVasDolly(info.channel) });
  return planSigningBlock(layout, pairs);
}

function planSigningBlock(layout: ApkLayout, pairs: SigningBlockPair[]): ChannelPlan {
  const block = layout.signingBlock;
  if (!block) throw new ApkError('NO_SIGNING_BLOCK', `${layout.path}: no APK Signing Block`);
  const newBlock = rebuildWithPairs(block, pairs);
  const eocd = patchEocd(layout.eocd.raw, { cdOffset: block.offset + newBlock.length });
  return finish(block.offset, [newBlock, layout.cd, eocd]);
}

function planComment(layout: ApkLayout, info: ChannelInfo): ChannelPlan {
  const comment = appendVasDollyComment(layout.eocd.comment, info.channel);
  if (comment.length > MAX_COMMENT_LENGTH) {
    throw new ApkError(
      'COMMENT_TOO_LONG',
      `${layout.path}: the ZIP comment (${layout.eocd.comment.length} bytes) cannot be extended by channel "${info.channel}": ` +
        `it would be ${comment.length} bytes, over the ${MAX_COMMENT_LENGTH}-byte limit; use --format meta-inf`,
    );
  }
  return finish(layout.eocd.offset, [patchEocd(layout.eocd.raw, { comment })]);
}

const DOS_DATE_1980_01_01 = 0x0021;
/** APPNOTE 4.4.3: 1.0 is enough to extract a stored entry; 2.0 is what the writer claims to implement. */
const ZIP_VERSION = { stored: 10, writer: 20 } as const;
/** One more entry must leave the 16-bit count below the all-ones value that means ZIP64. */
const MAX_ENTRIES = ZIP64_MARKER.u16 - 1;

function planMetaInf(layout: ApkLayout, info: ChannelInfo): ChannelPlan {
  if (layout.entries.some((e) => e.name === META_INF_CHANNEL_ENTRY)) {
    throw new ApkError(
      'ENTRY_EXISTS',
      `${layout.path}: already contains ${META_INF_CHANNEL_ENTRY}; channel-pack the original master instead of a channel APK`,
    );
  }
  if (layout.entries.length + 1 > MAX_ENTRIES) {
    throw new ApkError('ZIP64_UNSUPPORTED', `${layout.path}: one more entry would need ZIP64, which Android does not support`);
  }
  const name = Buffer.from(META_INF_CHANNEL_ENTRY, 'utf8');
  const data = encodeWalle(info);
  const entry = {
    versionNeeded: ZIP_VERSION.stored,
    flags: ZIP_FLAG_UTF8_NAME,
    method: ZIP_METHOD.stored,
    modTime: 0,
    modDate: DOS_DATE_1980_01_01,
    crc32: crc32(data),
    compressedSize: data.length,
    uncompressedSize: data.length,
    nameLength: name.length,
    extraLength: 0,
  };
  const lfh = LOCAL_FILE_HEADER.write(entry);
  const record = CD_RECORD.write({
    ...entry,
    versionMadeBy: ZIP_VERSION.writer,
    commentLength: 0,
    diskStart: 0,
    internalAttributes: 0,
    externalAttributes: 0,
    localHeaderOffset: layout.eocd.cdOffset,
  });
  const entryBytes = lfh.length + name.length + data.length;
  const eocd = patchEocd(layout.eocd.raw, {
    cdOffset: layout.eocd.cdOffset + entryBytes,
    cdSize: layout.eocd.cdSize + record.length + name.length,
    entryCount: layout.entries.length + 1,
  });
  return finish(layout.eocd.cdOffset, [lfh, name, data, layout.cd, record, name, eocd]);
}

function finish(prefixLength: number, parts: Buffer[]): ChannelPlan {
  const tail = Buffer.concat(parts);
  const size = prefixLength + tail.length;
  if (size > U32_MAX) throw new ApkError('TOO_LARGE', `channel APK would be ${size} bytes, over the 4 GiB ZIP limit`);
  return { prefixLength, tail, size };
}

