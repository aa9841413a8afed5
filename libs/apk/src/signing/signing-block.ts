import { PAIR_IDS } from '@subpack/rules';
import { ApkError } from '../errors';
import type { ByteSource } from '../zip/file-source';

export const SIGNING_BLOCK_MAGIC = Buffer.from('APK Sig Block 42', 'latin1');
/** apksig pads the block to this size so the verity (fs-verity/Merkle) code sees a page-aligned block. */
export const SIGNING_BLOCK_ALIGNMENT = 4096;
const FOOTER_SIZE = 8 + 16;
const HEADER_SIZE = 8;
const PAIR_HEADER_SIZE = 8 + 4;
/** Two GiB is far beyond any real block; a bigger size field means corruption, not data. */
const MAX_BLOCK_SIZE = 0x7fffffff;

export { PAIR_IDS };

export interface SigningBlockPair {
  id: number;
  value: Buffer;
}

export interface SigningBlock {
  /** File offset of the block's first byte: every channel APK keeps master[0:offset] untouched. */
  offset: number;
  /** Total size in bytes, from the leading size field through the magic. */
  size: number;
  pairs: SigningBlockPair[];
}

/**
 * Reads the APK Signing Block that sits directly before the central directory, or returns null when there is none
 * (a v1-only APK). A block whose two size fields disagree, or whose pairs overrun it, is corrupt.
 */
export async function readSigningBlock(src: ByteSource, cdOffset: number): Promise<SigningBlock | null> {
  if (cdOffset < FOOTER_SIZE + HEADER_SIZE) return null;
  const footer = await src.read(cdOffset - FOOTER_SIZE, FOOTER_SIZE);
  if (!footer.subarray(8).equals(SIGNING_BLOCK_MAGIC)) return null;
  const sizeInFooter = readU64(footer, 0, src.path);
  const total = sizeInFooter + 8;
  if (sizeInFooter < FOOTER_SIZE || total > MAX_BLOCK_SIZE || total > cdOffset) {
    throw new ApkError(
      'BAD_SIGNING_BLOCK',
      `${src.path}: APK Signing Block size ${sizeInFooter} does not fit before the central directory at ${cdOffset}`,
    );
  }
  const offset = cdOffset - total;
  const block = await src.read(offset, total);
  return { offset, size: total, pairs: parseSigningBlock(block, src.path) };
}

/** Parses a whole block (both size fields and the magic included) into its pairs, in order. */
export function parseSigningBlock(block: Buffer, label: string): SigningBlockPair[] {
  const sizeInHeader = readU64(block, 0, label);
  const sizeInFooter = readU64(block, block.length - FOOTER_SIZE, label);
  if (sizeInHeader !== sizeInFooter || sizeInHeader + 8 !== block.length) {
    throw new ApkError(
      'BAD_SIGNING_BLOCK',
      `${label}: APK Signing Block size fields disagree (header ${sizeInHeader}, footer ${sizeInFooter}, actual ${block.length - 8})`,
    );
  }
  const pairs: SigningBlockPair[] = [];
  const end = block.length - FOOTER_SIZE;
  let p = HEADER_SIZE;
  while (p < end) {
    if (p + 8 > end) throw new ApkError('BAD_SIGNING_BLOCK', `${label}: truncated pair length at block offset ${p}`);
    const len = readU64(block, p, label);
    if (len < 4 || p + 8 + len > end) {
      throw new ApkError('BAD_SIGNING_BLOCK', `${label}: pair at block offset ${p} declares length ${len}, which overruns the block`);
    }
    const id = block.readUInt32LE(p + 8);
    pairs.push({ id, value: Buffer.from(block.subarray(p + 12, p + 8 + len)) });
    p += 8 + len;
  }
  return pairs;
}

/**
 * Serialises pairs into a block. When `align` is set the verity padding pair is added (as apksig does) so the block's
 * size is a multiple of 4096; callers strip any old padding pair first.
 */
export function buildSigningBlock(pairs: readonly SigningBlockPair[], align: boolean): Buffer {
  let pairsSize = 0;
  for (const pair of pairs) pairsSize += PAIR_HEADER_SIZE + pair.value.length;
  let padding = 0;
  if (align) {
    const unpadded = HEADER_SIZE + pairsSize + FOOTER_SIZE;
    const rem = unpadded % SIGNING_BLOCK_ALIGNMENT;
    if (rem !== 0) {
      padding = SIGNING_BLOCK_ALIGNMENT - rem;
      // The padding is itself a pair and needs room for its own header.
      if (padding < PAIR_HEADER_SIZE) padding += SIGNING_BLOCK_ALIGNMENT;
    }
  }
  const total = HEADER_SIZE + pairsSize + padding + FOOTER_SIZE;
  const out = Buffer.alloc(total);
  out.writeBigUInt64LE(BigInt(total - 8), 0);
  let p = HEADER_SIZE;
  const write = (id: number, value: Buffer | number): void => {
    const len = typeof value === 'number' ? value : value.length;
    out.writeBigUInt64LE(BigInt(len + 4), p);
    out.writeUInt32LE(id, p + 8);
    if (typeof value !== 'number') value.copy(out, p + 12);
    p += PAIR_HEADER_SIZE + len;
  };
  for (const pair of pairs) write(pair.id, pair.value);
  if (padding > 0) write(PAIR_IDS.verityPadding, padding - PAIR_HEADER_SIZE);
  out.writeBigUInt64LE(BigInt(total - 8), p);
  SIGNING_BLOCK_MAGIC.copy(out, p + 8);
  return out;
}

/**
 * The block with `set` pairs replacing same-id pairs in place, new ids appended, and every other pair kept in order.
 * The padding pair is dropped and the block re-padded whenever the original size was 4096-aligned, not only when a
 * padding pair existed: the platform's verity code needs an aligned block if the signer used verity algorithms.
 */
export function rebuildWithPairs(block: SigningBlock, set: readonly SigningBlockPair[]): Buffer {
  const replacing = new Map(set.map((p) => [p.id, p]));
  const kept: SigningBlockPair[] = [];
  for (const pair of block.pairs) {
    if (pair.id === PAIR_IDS.verityPadding) continue;
    if (!set.some((s) => s.id === pair.id)) {
      kept.push(pair);
      continue;
    }
    // A replaced id keeps its first position; any later duplicate of it goes.
    const replacement = replacing.get(pair.id);
    if (replacement) kept.push(replacement);
    replacing.delete(pair.id);
  }
  kept.push(...replacing.values());
  const wasAligned = block.size % SIGNING_BLOCK_ALIGNMENT === 0;
  return buildSigningBlock(kept, wasAligned);
}

function readU64(buf: Buffer, offset: number, label: string): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ApkError('BAD_SIGNING_BLOCK', `${label}: APK Signing Block length field ${v} at ${offset} is implausible`);
  }
  return Number(v);
}
