import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isBadInput } from '@subpack/rules';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { parseStorageUrl, s3ClientConfig, storeSettings } from '@subpack/storage';
import { MasterError } from './errors';
import type { FinishedUpload, UploadedFiles } from './registry';
import type { MasterRecord } from './schemas';
import { loadTus, type DataStore, type Server, type ServerOptions, type Upload } from './tus-modules';

/** Where uploads are written: a directory inside a file:// master root, or an s3:// prefix inside one. */
export type UploadRoot = { kind: 'file'; directory: string } | { kind: 's3'; url: string };

export interface MasterUploadsOptions {
  root: UploadRoot;
  /** The route the tus endpoint is mounted at, e.g. /api/v1/masters/uploads. */
  basePath: string;
  maxBytes: number;
  /** Unfinished uploads older than this are removed by cleanUpExpired (0: never). */
  expireAfterMs?: number;
  /** Inspects and records a finished upload; a bad-input error refuses it and its bytes are deleted. */
  onUploaded(upload: FinishedUpload, owner: string): Promise<MasterRecord>;
}

const OWNER = 'subpack-owner';
const UPLOAD_ID = /^[0-9a-f]{32}$/;

/** A hook's refusal: tus answers with `status_code` and `body` (tus-js-client shows the body in its error). */
class TusRefusal extends Error {
  readonly status_code: number;
  readonly body: string;

  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.status_code = status;
    // A problem document, so the API's clients read tus refusals like every other answer.
    this.body = JSON.stringify({ status, code, detail });
  }
}

/**
 * The tus endpoint for master uploads (resumable, chunked; 300 MB to 2.5 GB from a browser or a script). Ids are
 * generated here and a client's file name is kept only as metadata, so nothing a client sends becomes a path. An
 * upload belongs to the user who created it: anyone else is told it does not exist.
 */
export class MasterUploads implements UploadedFiles {
  private readonly owners = new WeakMap<IncomingMessage, string>();

  private constructor(
    private readonly server: Server,
    private readonly opts: MasterUploadsOptions,
    /** Object-key prefix for s3:// roots ('' for directories): store ids are prefix + upload id. */
    private readonly keyPrefix: string,
  ) {}

  static async create(opts: MasterUploadsOptions): Promise<MasterUploads> {
    const tus = await loadTus();
    let store: DataStore;
    let keyPrefix = '';
    const expirationPeriodInMilliseconds = opts.expireAfterMs ?? 0;
    if (opts.root.kind === 'file') {
      await writableDirectory(opts.root.directory);
      store = new tus.FileStore({ directory: opts.root.directory, expirationPeriodInMilliseconds });
    } else {
      const location = parseStorageUrl(opts.root.url, 'upload root');
      if (location.scheme !== 's3') throw new MasterError('INVALID_INPUT', `upload root ${opts.root.url} must be a file:// directory or an s3:// prefix`);
      keyPrefix = location.key && !location.key.endsWith('/') ? `${location.key}/` : location.key;
      const settings = storeSettings('s3', location.bucket, keyPrefix);
      store = new tus.S3Store({
        s3ClientConfig: { bucket: location.bucket, ...s3ClientConfig(settings) },
        partSize: Math.max(settings.partBytes, settings.minPartBytes),
        minPartSize: settings.minPartBytes,
        expirationPeriodInMilliseconds,
      });
    }
    const ready: { uploads?: MasterUploads } = {};
    const hooks = (): MasterUploads => {
      if (!ready.uploads) throw new Error('upload hooks ran before the endpoint was ready');
      return ready.uploads;
    };
    const options: Omit<ServerOptions, 'locker'> & { datastore: DataStore } = {
      path: opts.basePath,
      datastore: store,
      maxSize: opts.maxBytes,
      relativeLocation: true,
      // The console is served from the API's own origin: no other site may drive uploads from a browser.
      allowedOrigins: () => false,
      namingFunction: () => `${keyPrefix}${randomBytes(16).toString('hex')}`,
      generateUrl: (_req, { path, id }) => `${path}/${id.slice(keyPrefix.length)}`,
      getFileIdFromRequest: (_req, last) => (last !== undefined && UPLOAD_ID.test(last) ? `${keyPrefix}${last}` : undefined),
      onUploadCreate: async (req, upload) => hooks().stampOwner(req, upload),
      onIncomingRequest: async (req, id) => hooks().checkOwner(req, id),
      onUploadFinish: async (req, upload) => hooks().finish(req, upload),
    };
    ready.uploads = new MasterUploads(new tus.Server(options), opts, keyPrefix);
    return ready.uploads;
  }

  /** Answers one tus request (POST, HEAD, PATCH, DELETE, OPTIONS) of an authenticated user. */
  async handle(req: IncomingMessage, res: ServerResponse, owner: string): Promise<void> {
    this.owners.set(req, owner);
    await this.server.handle(req, res);
  }

  /** Deletes an upload's bytes and its tus bookkeeping; `uploadId` is the id in its URL and its master's id. */
  async remove(uploadId: string): Promise<void> {
    if (!UPLOAD_ID.test(uploadId)) throw new MasterError('NOT_FOUND', 'no such upload');
    const storeId = `${this.keyPrefix}${uploadId}`;
    const root = this.opts.root;
    if (root.kind === 'file') {
      await this.server.datastore.remove(storeId);
      return;
    }
    // The S3 store's own removal aborts the multipart upload, which a finished upload no longer has, and then stops
    // before deleting anything: a finished master's object and its .info are deleted here.
    const location = parseStorageUrl(root.url, 'upload root');
    if (location.scheme === 'file') return;
    const client = new S3Client(s3ClientConfig(storeSettings('s3', location.bucket, this.keyPrefix)));
    try {
      await this.server.datastore.remove(storeId).catch(() => undefined);
      await client.send(new DeleteObjectsCommand({ Bucket: location.bucket, Delete: { Objects: [{ Key: storeId }, { Key: `${storeId}.info` }] } }));
    } finally {
      client.destroy();
    }
  }

  /** Removes unfinished uploads older than expireAfterMs; call it from a timer. Returns how many went. */
  cleanUpExpired(): Promise<number> {
    return this.opts.expireAfterMs ? this.server.cleanUpExpiredUploads() : Promise.resolve(0);
  }

  async close(): Promise<void> {
    this.server.removeAllListeners();
  }

  private ownerOf(req: unknown): string {
    const node = (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req;
    const owner = node ? this.owners.get(node) : undefined;
    if (owner === undefined) throw new TusRefusal(500, 'INTERNAL', 'upload request without an authenticated user');
    return owner;
  }

  private async stampOwner(req: unknown, upload: Upload): Promise<{ metadata: Record<string, string | null> }> {
    return { metadata: { ...upload.metadata, [OWNER]: this.ownerOf(req) } };
  }

  private async checkOwner(req: unknown, id: string): Promise<void> {
    const owner = this.ownerOf(req);
    const upload = await this.server.datastore.getUpload(id).catch(() => null);
    // Someone else's upload is answered exactly like a missing one.
    if (upload && upload.metadata?.[OWNER] !== owner) throw new TusRefusal(404, 'NOT_FOUND', 'no such upload');
  }

  private async finish(req: unknown, upload: Upload): Promise<{ status_code: number; body: string; headers: Record<string, string> }> {
    const owner = this.ownerOf(req);
    const id = upload.id.slice(this.keyPrefix.length);
    const filename = upload.metadata?.filename ?? upload.metadata?.name ?? undefined;
    const finished: FinishedUpload = { id, url: this.urlOf(upload.id), size: upload.size ?? upload.offset, ...(filename ? { filename } : {}) };
    try {
      const record = await this.opts.onUploaded(finished, owner);
      return { status_code: 200, body: JSON.stringify(record), headers: { 'Content-Type': 'application/json; charset=utf-8' } };
    } catch (err) {
      if (!isBadInput(err)) throw new TusRefusal(503, 'UNAVAILABLE', 'the upload is complete but could not be recorded; send the last PATCH again');
      await this.server.datastore.remove(upload.id).catch(() => undefined);
      const code = (err as { code?: unknown }).code;
      throw new TusRefusal(422, typeof code === 'string' ? code : 'INVALID_INPUT', err.message);
    }
  }

  private urlOf(storeId: string): string {
    const root = this.opts.root;
    if (root.kind === 'file') return pathToFileURL(join(root.directory, storeId)).href;
    const location = parseStorageUrl(root.url, 'upload root');
    return location.scheme === 's3' ? `s3://${location.bucket}/${storeId.split('/').map(encodeURIComponent).join('/')}` : '';
  }
}

/**
 * Creates the upload folder and checks that this process may write in it, so a folder it cannot use stops the start
 * with its name and the fix, rather than the file store failing later where no one catches it.
 */
async function writableDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true });
    await access(directory, constants.W_OK);
  } catch (err) {
    const uid = process.getuid?.();
    throw new Error(
      `cannot keep uploads in ${directory} (uploads/ under the first file:// root of SUBPACK_MASTER_ROOTS): ${(err as Error).message}; ` +
        `make it writable for this process${uid === undefined ? '' : ` (uid ${uid})`}`,
    );
  }
}
