import { Readable } from 'node:stream';
import { secretsOf, storeWhere } from './config';
import { StorageError, redact } from './errors';
import { ObjectMaster, type MasterSource } from './master-source';
import type { CompletedPart, ObjectStore, PartInfo } from './object-store';
import { APK_CONTENT_TYPE, requiredDigests, type ChannelTarget, type StoredObject, type StoreRequest, type TargetOptions } from './target';

/** Under the target prefix, where a local master is uploaded once so every channel can be composed from it. */
export const MASTER_COPY_DIR = '.subpack/masters/';

/** Metadata values must be printable ASCII on S3; anything else is percent-encoded (decodeURIComponent reverses it). */
function metaValue(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text);
}

function objectUrl(scheme: string, bucket: string, key: string): string {
  return `${scheme}://${bucket}/${key}`;
}

/** How often the parts of an upload whose copy may still be running are listed again. */
const PENDING_COPY_POLL_MS = 500;
/** A conservative server-side copy rate (50 MiB/s) for how long a copy of master[0:k] may take. */
const COPY_BYTES_PER_MS = (50 * 1024 * 1024) / 1000;
/** Well inside a handler's default deadline (SUBPACK_HANDLER_TIMEOUT_MS, 120 s), which also has the copy to make. */
const MAX_PENDING_COPY_WAIT_MS = 60_000;

/** A first part as ListParts shows it, against what master[0:k] would be. */
function describePart(part: PartInfo | undefined, k: number, md5: string): string {
  if (part === undefined) return 'it has no part 1';
  if (part.size !== k) return `part 1 is ${part.size} bytes, not ${k}`;
  return `part 1 has ETag ${part.etag}, not ${md5}`;
}

interface Source {
  bucket: string;
  key: string;
  etag: string;
}

/**
 * Channel APKs as objects under `s3://bucket/prefix/` or `oss://bucket/prefix/`. Each is composed inside the store
 * where it can be (a multipart upload whose first part is a server-side copy of master[0:k]), or else streamed
 * (master[0:k] read from its source and the tail, in parts); both resume an upload a crash left unfinished.
 */
export class ObjectTarget implements ChannelTarget {
  private readonly notices = new Set<string>();
  private readonly masterCopies = new Map<string, Promise<Source>>();
  private readonly compose: boolean;
  private readonly log: (line: string) => void;
  readonly needsDigests = true;

  constructor(
    readonly url: string,
    readonly objects: ObjectStore,
    readonly bucket: string,
    /** '' or ending in '/'. */
    readonly prefix: string,
    opts: TargetOptions = {},
  ) {
    this.compose = opts.compose ?? true;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  get root(): string {
    return `/${this.bucket}/${this.prefix}`;
  }

  private keyOf(name: string): string {
    return `${this.prefix}${name}`;
  }

  private urlOf(key: string): string {
    return objectUrl(this.objects.settings.scheme, this.bucket, key);
  }

  async check(): Promise<void> {
    if (await this.objects.bucketMissing(this.bucket)) throw this.missingBucket();
  }

  /** The same words wherever a missing target bucket shows up: the CLI's check and every channel's write. */
  private missingBucket(): StorageError {
    const where = redact(storeWhere(this.objects.settings), secretsOf(this.objects.settings));
    return new StorageError(`target bucket ${this.bucket} does not exist (${where})`, true, { code: 'NoSuchBucket' });
  }

  /**
   * Runs a step of writing into this target; a missing bucket fails it with the words check() uses. Only the bucket
   * itself is trusted for that: a NoSuchBucket may be about a copy source, and OSS answers a HEAD in a missing bucket
   * as if only the key were missing.
   */
  private async writing<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof StorageError && err.code === 'NoSuchBucket' && (await this.objects.bucketMissing(this.bucket).catch(() => false))) {
        throw this.missingBucket();
      }
      throw err;
    }
  }

  /** An object with this channel's sha256 in its metadata and the right size was written by an earlier delivery. */
  async existing(req: StoreRequest): Promise<StoredObject | null> {
    const key = this.keyOf(req.name);
    const head = await this.writing(() => this.objects.head(this.bucket, key, 'writing'));
    if (!head || head.size !== req.plan.size || head.metadata.sha256 !== requiredDigests(req).sha256) return null;
    return { url: this.urlOf(key), bytes: head.size };
  }

  store(req: StoreRequest): Promise<StoredObject> {
    return this.writing(() => this.storeOnce(req));
  }

  private async storeOnce(req: StoreRequest): Promise<StoredObject> {
    const key = this.keyOf(req.name);
    const refusal = this.compositionRefusal(req);
    if (refusal === null) {
      const master = req.master as ObjectMaster;
      await this.composed(req, key, { bucket: master.bucket, key: master.key, etag: master.etag });
      return { url: this.urlOf(key), bytes: req.plan.size, method: 'composed' };
    }
    if (refusal === 'local' && req.masterSha256) {
      const copy = await this.masterCopy(req.master, req.masterSha256);
      await this.composed(req, key, copy);
      return { url: this.urlOf(key), bytes: req.plan.size, method: 'composed' };
    }
    this.notice(refusal === 'local' ? `the master ${req.master.url} is not in this store and its content hash is unknown` : refusal);
    await this.streamed(req, key);
    return { url: this.urlOf(key), bytes: req.plan.size, method: 'streamed' };
  }

  /** null when the prefix can be copied inside the store; 'local' for a master to upload once; else why not. */
  private compositionRefusal(req: StoreRequest): string | null {
    const s = this.objects.settings;
    const k = req.plan.prefixLength;
    if (!this.compose) return 'composition is switched off for this target';
    if (!s.partCopy) return `${this.url}: the store is configured without part copy (partCopy: false)`;
    if (k < s.minPartBytes) return `the master's prefix (${k} bytes) is below the store's ${s.minPartBytes}-byte minimum part size`;
    const m = req.master;
    if (m instanceof ObjectMaster) {
      return m.store.identity === this.objects.identity ? null : `the master ${m.url} is in another store than ${this.url}`;
    }
    return 'local';
  }

  private notice(reason: string): void {
    if (this.notices.has(reason)) return;
    this.notices.add(reason);
    this.log(`${this.url}: streaming channel uploads instead of composing them in the store: ${reason}`);
  }

  /** The master's content-addressed copy under the target prefix, uploaded once per store. */
  private masterCopy(master: MasterSource, sha256: string): Promise<Source> {
    const key = `${this.prefix}${MASTER_COPY_DIR}${sha256}.apk`;
    let copy = this.masterCopies.get(key);
    if (!copy) {
      copy = (async () => {
        let head = await this.objects.head(this.bucket, key, 'writing');
        if (!head || head.size !== master.size || head.metadata.sha256 !== sha256) {
          this.log(`${this.url}: uploading the master ${master.url} once to ${this.urlOf(key)}, to compose channels from it`);
          await this.uploadParts(key, { sha256 }, master.size, (start, end) => master.stream(start, end));
          head = await this.objects.head(this.bucket, key, 'writing');
          if (!head) throw new StorageError(`${this.urlOf(key)} is missing right after its upload completed`, false);
        }
        return { bucket: this.bucket, key, etag: head.etag };
      })();
      copy.catch(() => this.masterCopies.delete(key));
      this.masterCopies.set(key, copy);
    }
    return copy;
  }

  private metadata(req: StoreRequest): Record<string, string> {
    return {
      channel: metaValue(req.facts.channel),
      md5: requiredDigests(req).md5,
      sha256: requiredDigests(req).sha256,
      package: metaValue(req.facts.package),
      versionname: metaValue(req.facts.versionName),
      versioncode: String(req.facts.versionCode),
    };
  }

  /**
   * Unfinished uploads of `key`: the newest one whose first part is exactly master[0:k] (size and MD5 ETag) is
   * returned for reuse, whatever its age. When none has that part yet, the copies an interrupted delivery started may
   * still be running inside the store, so their parts are awaited (pendingCopyWait) before a new copy is made. The
   * others are aborted once older than the configured age (younger ones may belong to a concurrent delivery of the
   * same channel), each with a line saying why.
   */
  private async resumable(key: string, k: number, prefixMd5: string | undefined): Promise<{ uploadId: string; etag: string } | null> {
    const uploads = await this.objects.listUploads(this.bucket, key);
    if (uploads.length === 0) return null;
    uploads.sort((a, b) => b.initiated.getTime() - a.initiated.getTime());
    const firstParts = new Map<string, PartInfo | undefined>();
    const look = async (uploadId: string): Promise<void> => {
      firstParts.set(uploadId, (await this.objects.listParts(this.bucket, key, uploadId)).find((p) => p.partNumber === 1));
    };
    const matches = (uploadId: string): boolean => {
      const first = firstParts.get(uploadId);
      return first !== undefined && first.size === k && first.etag === prefixMd5;
    };
    let reuse: string | undefined;
    if (prefixMd5 !== undefined) {
      for (const u of uploads) await look(u.uploadId);
      reuse = uploads.find((u) => matches(u.uploadId))?.uploadId;
      const pending = (): typeof uploads => uploads.filter((u) => firstParts.get(u.uploadId) === undefined);
      if (reuse === undefined && pending().length > 0) {
        const waitMs = this.pendingCopyWait(k);
        const ids = pending().map((u) => u.uploadId).join(', ');
        this.log(`${this.urlOf(key)}: waiting up to ${Math.round(waitMs / 1000)} s for the part copy an interrupted attempt may still have running (unfinished upload ${ids})`);
        const deadline = Date.now() + waitMs;
        while (reuse === undefined && pending().length > 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, PENDING_COPY_POLL_MS));
          for (const u of pending()) await look(u.uploadId);
          reuse = uploads.find((u) => matches(u.uploadId))?.uploadId;
        }
      }
    }
    for (const u of uploads) {
      if (u.uploadId === reuse || Date.now() - u.initiated.getTime() <= this.objects.settings.staleUploadMs) continue;
      const why = reuse !== undefined
        ? `upload ${reuse} of the same object, whose copied part is master[0:${k}], is continued instead`
        : prefixMd5 === undefined
          ? 'a streamed upload starts afresh'
          : `its first part is not master[0:${k}] (${describePart(firstParts.get(u.uploadId), k, prefixMd5)})`;
      await this.abort(key, u.uploadId, `${why}; started ${u.initiated.toISOString()}, more than SUBPACK_STALE_UPLOAD_HOURS ago`);
    }
    if (reuse === undefined) return null;
    return { uploadId: reuse, etag: firstParts.get(reuse)!.etag };
  }

  /** A copy of k bytes inside the store takes a while; an interrupted one is given that long to show up. */
  private pendingCopyWait(k: number): number {
    return Math.min(MAX_PENDING_COPY_WAIT_MS, this.objects.settings.pendingCopyWaitMs + k / COPY_BYTES_PER_MS);
  }

  /** AbortMultipartUpload, with one line naming the object, the upload and why; a failed abort is left to the next run. */
  private async abort(key: string, uploadId: string, why: string): Promise<void> {
    this.log(`${this.urlOf(key)}: aborting unfinished upload ${uploadId}: ${why}`);
    await this.objects.abort(this.bucket, key, uploadId).catch(() => undefined);
  }

  /** CreateMultipartUpload, part 1 := copy of source[0:k], part 2 := the tail, Complete. */
  private async composed(req: StoreRequest, key: string, source: Source, resumeAllowed = true): Promise<void> {
    const k = req.plan.prefixLength;
    const conditional = this.objects.settings.conditionalCopy;
    const resumed = resumeAllowed ? await this.resumable(key, k, req.prefixMd5) : null;
    const uploadId = resumed?.uploadId ?? (await this.objects.createUpload(this.bucket, key, this.metadata(req), APK_CONTENT_TYPE));
    let copied = resumed?.etag;
    try {
      copied ??= await this.objects.copyPart(this.bucket, key, uploadId, 1, {
        bucket: source.bucket, key: source.key, start: 0, end: k, ...(conditional ? { ifMatch: source.etag } : {}),
      });
    } catch (err) {
      await this.abort(key, uploadId, `copying master[0:${k}] into it failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    try {
      const tail = await this.objects.uploadPart(this.bucket, key, uploadId, 2, req.plan.tail, req.plan.tail.length);
      // Checked even where copy-source-if-match is honoured: some stores (Cloudflare R2, moto) accept and ignore it,
      // and a reused part was copied by an earlier delivery. One HEAD per channel is the price.
      const now = await this.objects.head(source.bucket, source.key);
      if (now?.etag !== source.etag) {
        throw new StorageError(`${objectUrl(this.objects.settings.scheme, source.bucket, source.key)} changed while ${this.urlOf(key)} was being composed`, true);
      }
      await this.objects.complete(this.bucket, key, uploadId, [{ partNumber: 1, etag: copied }, { partNumber: 2, etag: tail }]);
    } catch (err) {
      // The copied part is kept for the next attempt to continue, unless it can never be used (a changed master).
      if (err instanceof StorageError && err.permanent) await this.abort(key, uploadId, `composing it failed for good: ${err.message}`);
      throw err;
    }
    if (resumed) {
      // A reused upload carries the metadata it was started with; if that was another build of this key, redo it.
      const head = await this.objects.head(this.bucket, key, 'writing');
      if (head?.metadata.sha256 !== requiredDigests(req).sha256) await this.composed(req, key, source, false);
    }
  }

  /** master[0:k] from wherever the master is, then the tail, as parts of the configured size. */
  private async streamed(req: StoreRequest, key: string): Promise<void> {
    await this.resumable(key, req.plan.prefixLength, undefined);
    const k = req.plan.prefixLength;
    const tail = req.plan.tail;
    await this.uploadParts(key, this.metadata(req), req.plan.size, (start, end) => {
      const fromMaster = start < k ? req.master.stream(start, Math.min(end, k)) : null;
      const fromTail = end > k ? tail.subarray(Math.max(0, start - k), end - k) : null;
      return Readable.from((async function* () {
        if (fromMaster) yield* fromMaster;
        if (fromTail) yield fromTail;
      })());
    });
  }

  /** One multipart upload of `size` bytes whose part [start, end) is `body(start, end)`, a few parts at a time. */
  private async uploadParts(key: string, metadata: Record<string, string>, size: number, body: (start: number, end: number) => Readable): Promise<void> {
    const s = this.objects.settings;
    const partBytes = Math.max(s.partBytes, s.minPartBytes);
    const count = Math.max(1, Math.ceil(size / partBytes));
    const uploadId = await this.objects.createUpload(this.bucket, key, metadata, APK_CONTENT_TYPE);
    try {
      const parts: CompletedPart[] = new Array<CompletedPart>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const i = next++;
          const start = i * partBytes;
          const end = Math.min(size, start + partBytes);
          parts[i] = { partNumber: i + 1, etag: await this.objects.uploadPart(this.bucket, key, uploadId, i + 1, body(start, end), end - start) };
        }
      };
      await Promise.all(Array.from({ length: Math.min(s.concurrency, count) }, worker));
      await this.objects.complete(this.bucket, key, uploadId, parts);
    } catch (err) {
      await this.abort(key, uploadId, `the streamed upload failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }
}
