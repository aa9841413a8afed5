import { createHash, type Hash } from 'node:crypto';

export interface Digests {
  md5: string;
  sha256: string;
}

/**
 * MD5 and SHA-256 states over `master[0:prefixLength]`, computed once per master. Each channel copies them and feeds
 * its tail, so every channel APK gets exact digests without its bytes being read again.
 */
export class PrefixDigests {
  private constructor(
    private readonly md5: Hash,
    private readonly sha256: Hash,
    readonly prefixLength: number,
    /** SHA-256 of the whole master, when asked for: its content address, from the same single read. */
    readonly fileSha256: string | undefined,
  ) {}

  /**
   * From a stream of the master's bytes from offset 0 (a master source's stream, range reads for an object): up to the
   * prefix end, or to the end of the master when `fileSha256` is asked for. `label` names the master in errors.
   */
  static async fromChunks(
    label: string,
    prefixLength: number,
    chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
    opts: { fileSha256?: boolean } = {},
  ): Promise<PrefixDigests> {
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    const whole = opts.fileSha256 ? createHash('sha256') : undefined;
    let seen = 0;
    for await (const buf of chunks) {
      const inPrefix = Math.max(0, Math.min(buf.length, prefixLength - seen));
      if (inPrefix > 0) {
        const part = inPrefix === buf.length ? buf : buf.subarray(0, inPrefix);
        md5.update(part);
        sha256.update(part);
      }
      whole?.update(buf);
      seen += buf.length;
    }
    if (seen < prefixLength) throw new Error(`${label}: read ${seen} bytes of a ${prefixLength}-byte prefix; the master changed`);
    return new PrefixDigests(md5, sha256, prefixLength, whole?.digest('hex'));
  }

  /** MD5 of the prefix alone: what a store reports as the ETag of a part holding exactly these bytes. */
  prefixMd5(): string {
    return this.md5.copy().digest('hex');
  }

  /** Digests of `prefix ++ tail`, leaving this object reusable. */
  withTail(tail: Buffer): Digests {
    return {
      md5: this.md5.copy().update(tail).digest('hex'),
      sha256: this.sha256.copy().update(tail).digest('hex'),
    };
  }
}
