import { ApkError } from '../errors';
import type { ByteSource } from '../zip/byte-source';
import { SIGNING_BLOCK_FOOTER, SIGNING_BLOCK_HEADER, SIGNING_BLOCK_PAIR, SIGNING_BLOCK_PAIR_ID_SIZE } from '../zip/records';
import { PAIR_IDS } from './pairs';

/** apksig pads the block to this size so the verity (fs-verity/Merkle) code sees a page-aligned block. */
export const SIGNING_BLOCK_ALIGNMENT = 4096;
/** Two GiB is far beyond any real block; a bigger size field means corruption, not data. */
const MAX_BLOCK_SIZE = 0x7fffffff;
/** The leading size field is the one byte range the block's size fields do not count. */
const UNCOUNTED = SIGNING_BLOCK_HEADER.size;

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
  if (cdOffset < SIGNING_BLOCK_FOOTER.size + SIGNING_BLOCK_HEADER.size) return null;
  const footer = await src.read(cdOffset - SIGNING_BLOCK_FOOTER.size, SIGNING_BLOCK_FOOTER.size);
  if (!SIGNING_BLOCK_FOOTER.matches(footer)) return null;
  const sizeInFooter = checked(SIGNING_BLOCK_FOOTER.read(footer).size, cdOffset - SIGNING_BLOCK_FOOTER.size, src.path);
  const total = sizeInFooter + UNCOUNTED;
  if (sizeInFooter < SIGNING_BLOCK_FOOTER.size || total > MAX_BLOCK_SIZE || total > cdOffset) {
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
  const end = block.length - SIGNING_BLOCK_FOOTER.size;
  const sizeInHeader = checked(SIGNING_BLOCK_HEADER.read(block).size, 0, label);
  const sizeInFooter = checked(SIGNING_BLOCK_FOOTER.read(block, end).size, end, label);
  if (sizeInHeader !== sizeInFooter || sizeInHeader + UNCOUNTED !== block.length) {
    throw new ApkError(
      'BAD_SIGNING_BLOCK',
      `${label}: APK Signing Block size fields disagree (header ${sizeInHeader}, footer ${sizeInFooter}, actual ${block.length - UNCOUNTED})`,
    );
  }
  const pairs: SigningBlockPair[] = [];
  let p = SIGNING_BLOCK_HEADER.size;
  while (p < end) {
    if (p + SIGNING_BLOCK_PAIR.fields.length.size > end) {
      throw new ApkError('BAD_SIGNING_BLOCK', `${label}: truncated pair length at block offset ${p}`);
    }
    // The footer follows `end`, so the whole pair header is readable even when only its length field fits.
    const header = SIGNING_BLOCK_PAIR.read(block, p);
    const len = checked(header.length, p, label);
    const valueStart = p + SIGNING_BLOCK_PAIR.size;
    const next = valueStart - SIGNING_BLOCK_PAIR_ID_SIZE + len;
    if (len < SIGNING_BLOCK_PAIR_ID_SIZE || next > end) {
      throw new ApkError('BAD_SIGNING_BLOCK', `${label}: pair at block offset ${p} declares length ${len}, which overruns the block`);
    }
    pairs.push({ id: header.id, value: Buffer.from(block.subarray(valueStart, next)) });
    p = next;
  }
  return pairs;
}

/**
 * Serialises pairs into a block. When `align` is set the verity padding pair is added (as apksig does) so the block's
 * size is a multiple of 4096; callers strip any old padding pair first.
 */
export function buildSigningBlock(pairs: readonly SigningBlockPair[], align: boolean): Buffer {
  let pairsSize = 0;
  for (const pair of pairs) pairsSize += SIGNING_BLOCK_PAIR.size + pair.value.length;
  let padding = 0;
  if (align) {
    const unpadded = SIGNING_BLOCK_HEADER.size + pairsSize + SIGNING_BLOCK_FOOTER.size;
    const rem = unpadded % SIGNING_BLOCK_ALIGNMENT;
    if (rem !== 0) {
      padding = SIGNING_BLOCK_ALIGNMENT - rem;
      // The padding is itself a pair and needs room for its own header.
      if (padding < SIGNING_BLOCK_PAIR.size) padding += SIGNING_BLOCK_ALIGNMENT;
    }
  }
  const total = SIGNING_BLOCK_HEADER.size + pairsSize + padding + SIGNING_BLOCK_FOOTER.size;
  const out = Buffer.alloc(total);
  SIGNING_BLOCK_HEADER.patch(out, 0, { size: total - UNCOUNTED });
  let p = SIGNING_BLOCK_HEADER.size;
  const write = (id: number, value: Buffer | number): void => {
    const len = typeof value === 'number' ? value : value.length;
    SIGNING_BLOCK_PAIR.patch(out, p, { length: len + SIGNING_BLOCK_PAIR_ID_SIZE, id });
    if (typeof value !== 'number') value.copy(out, p + SIGNING_BLOCK_PAIR.size);
    p += SIGNING_BLOCK_PAIR.size + len;
  };
  for (const pair of pairs) write(pair.id, pair.value);
  if (padding > 0) write(PAIR_IDS.verityPadding, padding - SIGNING_BLOCK_PAIR.size);
  SIGNING_BLOCK_FOOTER.write({ size: total - UNCOUNTED }).copy(out, p);
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

/** A 64-bit length field as a number, or a clear error when it is too big to be real. */
function checked(n: number, offset: number, label: string): number {
  if (!Number.isSafeInteger(n)) {
    throw new ApkError('BAD_SIGNING_BLOCK', `${label}: APK Signing Block length field ${BigInt(n)} at ${offset} is implausible`);
  }
  return n;
}
