import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A protocol-level stand-in for Aliyun OSS, because no OSS emulator exists. It verifies each request's V4
 * (OSS4-HMAC-SHA256) signature as OSS does, and implements only what subpack calls: head, ranged get, put, and
 * multipart upload with part copy, list and abort, with OSS's 100 KB minimum for every part but the last.
 */
export const OSS_FAKE_MIN_PART_BYTES = 100 * 1024;

interface StoredObject {
  data: Buffer;
  etag: string;
  meta: Record<string, string>;
  contentType: string;
}

interface Upload {
  bucket: string;
  key: string;
  meta: Record<string, string>;
  contentType: string;
  initiated: Date;
  parts: Map<number, { data: Buffer; etag: string }>;
}

export interface FakeOssOptions {
  accessKeyId: string;
  accessKeySecret: string;
  /** The region requests must be signed for, without the "oss-" prefix, e.g. cn-hangzhou. */
  region: string;
}

export interface OssRequestRecord {
  method: string;
  bucket: string;
  key: string;
  query: string;
  bodyBytes: number;
}

/** What a V4 signature names, from the Authorization header or a presigned link's query string. */
interface SignedParts {
  accessKeyId: string;
  day: string;
  region: string;
  date: string;
  additionalHeaders: string[];
  signature: string;
}

class OssFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function encodeString(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex').toUpperCase();
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class FakeOss {
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  readonly uploads = new Map<string, Upload>();
  /** Every authenticated request, in order, for assertions about what crossed the wire. */
  readonly requests: OssRequestRecord[] = [];
  private server: Server | null = null;
  endpoint = '';

  constructor(readonly opts: FakeOssOptions) {}

  static async start(opts: FakeOssOptions): Promise<FakeOss> {
    const fake = new FakeOss(opts);
    fake.server = createServer((req, res) => void fake.handle(req, res));
    fake.server.listen(0, '127.0.0.1');
    await once(fake.server, 'listening');
    const address = fake.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('fake OSS did not bind');
    fake.endpoint = `http://127.0.0.1:${address.port}`;
    return fake;
  }

  /** Environment for subpack's OSS configuration pointing at this server. */
  get env(): Record<string, string> {
    return {
      ALIBABA_CLOUD_ACCESS_KEY_ID: this.opts.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: this.opts.accessKeySecret,
      OSS_REGION: this.opts.region,
      OSS_ENDPOINT: this.endpoint,
    };
  }

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  putObject(bucket: string, key: string, data: Buffer, meta: Record<string, string> = {}): void {
    this.bucket(bucket).set(key, { data, etag: md5Hex(data), meta, contentType: 'application/octet-stream' });
  }

  getObject(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
    this.server = null;
  }

  private bucket(name: string): Map<string, StoredObject> {
    const b = this.buckets.get(name);
    if (!b) throw new OssFailure(404, 'NoSuchBucket', `The specified bucket does not exist.`);
    return b;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    // ali-oss addresses an IP endpoint with the bucket in the Host header: <bucket>.oss-<region>.aliyuncs.com.
    const bucket = (req.headers.host ?? '').split('.')[0] ?? '';
    const url = new URL(req.url ?? '/', 'http://fake');
    const key = decodeURIComponent(url.pathname.slice(1));
    try {
      this.verifySignature(req, bucket, key, url);
      this.requests.push({ method: req.method ?? '', bucket, key, query: url.search, bodyBytes: body.length });
      this.route(req, res, bucket, key, url.searchParams, body);
    } catch (err) {
      const f = err instanceof OssFailure ? err : new OssFailure(500, 'InternalError', (err as Error).message);
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${f.code}</Code><Message>${xmlEscape(f.message)}</Message><RequestId>fake</RequestId></Error>`;
      res.statusCode = f.status;
      res.setHeader('x-oss-request-id', 'fake');
      if (req.method === 'HEAD') {
        res.setHeader('x-oss-err', Buffer.from(xml).toString('base64'));
        res.end();
      } else {
        res.setHeader('content-type', 'application/xml');
        res.end(xml);
      }
    }
  }

  /** Recomputes the V4 signature from the request as received, exactly as OSS documents it. */
  private verifySignature(req: IncomingMessage, bucket: string, key: string, url: URL): void {
    const parts = url.searchParams.has('x-oss-signature') ? this.querySignature(url) : this.headerSignature(req);
    const { accessKeyId, day, region, date, additionalHeaders, signature } = parts;
    if (accessKeyId !== this.opts.accessKeyId) throw new OssFailure(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.');
    if (region !== this.opts.region) throw new OssFailure(403, 'SignatureDoesNotMatch', `The request is signed for region ${region}, not ${this.opts.region}.`);
    if (!date.startsWith(day)) throw new OssFailure(403, 'SignatureDoesNotMatch', 'x-oss-date does not match the credential scope.');
    const query = [...url.searchParams.entries()]
      .filter(([k]) => k !== 'x-oss-signature')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => (v === '' ? encodeString(k) : `${encodeString(k)}=${encodeString(v)}`))
      .join('&');
    const signed = new Set(additionalHeaders);
    for (const name of Object.keys(req.headers)) {
      if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-')) signed.add(name);
    }
    const headers = [...signed].sort().map((name) => `${name}:${String(req.headers[name] ?? '').trim()}\n`).join('');
    const canonical = [
      req.method ?? '',
      encodeString(`/${bucket}/${key}`).replace(/%2F/g, '/'),
      query,
      headers,
      additionalHeaders.join(';'),
      String(req.headers['x-oss-content-sha256'] ?? 'UNSIGNED-PAYLOAD'),
    ].join('\n');
    const stringToSign = ['OSS4-HMAC-SHA256', date, `${day}/${region}/oss/aliyun_v4_request`, createHash('sha256').update(canonical).digest('hex')].join('\n');
    const signingKey = hmac(hmac(hmac(hmac(`aliyun_v4${this.opts.accessKeySecret}`, day), region), 'oss'), 'aliyun_v4_request');
    const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      throw new OssFailure(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
  }

  /** A request signed in its Authorization header (what ali-oss's own calls send). */
  private headerSignature(req: IncomingMessage): SignedParts {
    const auth = req.headers.authorization ?? '';
    const m = /^OSS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/oss\/aliyun_v4_request,(?:AdditionalHeaders=([^,]*),)?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new OssFailure(403, 'AccessDenied', 'The request is not signed with OSS4-HMAC-SHA256.');
    const [, accessKeyId, day, region, additional, signature] = m as unknown as [string, string, string, string, string | undefined, string];
    return { accessKeyId, day, region, date: String(req.headers['x-oss-date'] ?? ''), additionalHeaders: additional ? additional.split(';') : [], signature };
  }

  /**
   * A presigned URL (signatureUrlV4): the signature and its scope ride in the query string, and OSS refuses the link
   * once x-oss-date plus x-oss-expires seconds have passed.
   */
  private querySignature(url: URL): SignedParts {
    const q = url.searchParams;
    if (q.get('x-oss-signature-version') !== 'OSS4-HMAC-SHA256') throw new OssFailure(403, 'AccessDenied', 'The link is not signed with OSS4-HMAC-SHA256.');
    const m = /^([^/]+)\/(\d{8})\/([^/]+)\/oss\/aliyun_v4_request$/.exec(q.get('x-oss-credential') ?? '');
    const signature = q.get('x-oss-signature') ?? '';
    if (!m || !/^[0-9a-f]{64}$/.test(signature)) throw new OssFailure(403, 'AccessDenied', 'The link carries no valid x-oss-credential or x-oss-signature.');
    const date = q.get('x-oss-date') ?? '';
    const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    const expires = Number(q.get('x-oss-expires'));
    if (!d || !Number.isInteger(expires) || expires < 1) throw new OssFailure(403, 'AccessDenied', 'The link carries no valid x-oss-date or x-oss-expires.');
    const signedAt = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(d[4]), Number(d[5]), Number(d[6]));
    if (Date.now() > signedAt + expires * 1000) throw new OssFailure(403, 'AccessDenied', 'Request has expired.');
    const additional = q.get('x-oss-additional-headers');
    return { accessKeyId: m[1]!, day: m[2]!, region: m[3]!, date, additionalHeaders: additional ? additional.split(';') : [], signature };
  }

  private route(req: IncomingMessage, res: ServerResponse, bucketName: string, key: string, q: URLSearchParams, body: Buffer): void {
    const method = req.method ?? '';
    const bucket = this.bucket(bucketName);
    const uploadId = q.get('uploadId');
    if (method === 'GET' && key === '' && q.has('uploads')) return this.listUploads(res, bucketName, q.get('prefix') ?? '');
    if (method === 'GET' && key === '' && q.has('bucketInfo')) {
      return xmlReply(res, `<BucketInfo><Bucket><Name>${bucketName}</Name><Location>oss-${this.opts.region}</Location></Bucket></BucketInfo>`);
    }
    if (method === 'POST' && q.has('uploads')) {
      const id = randomBytes(16).toString('hex').toUpperCase();
      this.uploads.set(id, { bucket: bucketName, key, meta: metaOf(req), contentType: String(req.headers['content-type'] ?? ''), initiated: new Date(), parts: new Map() });
      return xmlReply(res, `<InitiateMultipartUploadResult><Bucket>${bucketName}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (uploadId !== null) {
      const upload = this.uploads.get(uploadId);
      if (!upload || upload.bucket !== bucketName || upload.key !== key) throw new OssFailure(404, 'NoSuchUpload', 'The specified upload does not exist.');
      if (method === 'PUT') return this.putPart(req, res, upload, Number(q.get('partNumber')), body);
      if (method === 'GET') return this.listParts(res, upload, uploadId);
      if (method === 'DELETE') {
        this.uploads.delete(uploadId);
        res.statusCode = 204;
        return void res.end();
      }
      if (method === 'POST') return this.complete(res, bucket, upload, uploadId, body);
    }
    if (method === 'PUT') {
      bucket.set(key, { data: body, etag: md5Hex(body), meta: metaOf(req), contentType: String(req.headers['content-type'] ?? '') });
      res.setHeader('etag', `"${md5Hex(body)}"`);
      return void res.end();
    }
    if (method === 'HEAD' || method === 'GET') {
      const obj = bucket.get(key);
      if (!obj) throw new OssFailure(404, 'NoSuchKey', 'The specified key does not exist.');
      const ifMatch = req.headers['if-match'];
      if (ifMatch && ifMatch.replace(/"/g, '') !== obj.etag) throw new OssFailure(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.');
      res.setHeader('etag', `"${obj.etag}"`);
      res.setHeader('content-type', obj.contentType || 'application/octet-stream');
      for (const [k, v] of Object.entries(obj.meta)) res.setHeader(`x-oss-meta-${k}`, v);
      const range = parseRange(req.headers.range, obj.data.length);
      const data = range ? obj.data.subarray(range[0], range[1] + 1) : obj.data;
      if (range) {
        res.statusCode = 206;
        res.setHeader('content-range', `bytes ${range[0]}-${range[1]}/${obj.data.length}`);
      }
      res.setHeader('content-length', data.length);
      return void res.end(method === 'GET' ? data : undefined);
    }
    throw new OssFailure(400, 'InvalidRequest', `${method} ${key} with ${[...q.keys()].join(',')} is not something this fake implements`);
  }

  private putPart(req: IncomingMessage, res: ServerResponse, upload: Upload, partNumber: number, body: Buffer): void {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw new OssFailure(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000.');
    const copySource = req.headers['x-oss-copy-source'];
    let data = body;
    if (typeof copySource === 'string') {
      const m = /^\/([^/]+)\/(.+)$/.exec(copySource);
      if (!m) throw new OssFailure(400, 'InvalidArgument', 'Bad x-oss-copy-source.');
      const source = this.bucket(m[1]!).get(decodeURIComponent(m[2]!));
      if (!source) throw new OssFailure(404, 'NoSuchKey', 'The specified copy source does not exist.');
      const ifMatch = req.headers['x-oss-copy-source-if-match'];
      if (typeof ifMatch === 'string' && ifMatch.replace(/"/g, '').toUpperCase() !== source.etag) {
        throw new OssFailure(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.');
      }
      const range = parseRange(req.headers['x-oss-copy-source-range'] as string | undefined, source.data.length);
      data = range ? source.data.subarray(range[0], range[1] + 1) : source.data;
    }
    const etag = md5Hex(data);
    upload.parts.set(partNumber, { data: Buffer.from(data), etag });
    res.setHeader('etag', `"${etag}"`);
    if (typeof copySource === 'string') return xmlReply(res, `<CopyPartResult><LastModified>${new Date().toISOString()}</LastModified><ETag>"${etag}"</ETag></CopyPartResult>`);
    res.end();
  }

  private complete(res: ServerResponse, bucket: Map<string, StoredObject>, upload: Upload, uploadId: string, body: Buffer): void {
    const listed = [...body.toString('utf8').matchAll(/<PartNumber>(\d+)<\/PartNumber>\s*<ETag>"?([^<"]+)"?<\/ETag>/g)].map((m) => ({ n: Number(m[1]), etag: m[2]!.toUpperCase() }));
    if (listed.length === 0) throw new OssFailure(400, 'MalformedXML', 'No parts listed.');
    const parts = listed.map(({ n, etag }, i) => {
      const part = upload.parts.get(n);
      if (!part || part.etag !== etag) throw new OssFailure(400, 'InvalidPart', `Part ${n} was not uploaded or its ETag does not match.`);
      if (i > 0 && n <= listed[i - 1]!.n) throw new OssFailure(400, 'InvalidPartOrder', 'Parts must be listed in ascending order.');
      if (i < listed.length - 1 && part.data.length < OSS_FAKE_MIN_PART_BYTES) {
        throw new OssFailure(400, 'EntityTooSmall', `Part ${n} is ${part.data.length} bytes; every part but the last must be at least ${OSS_FAKE_MIN_PART_BYTES} bytes.`);
      }
      return part;
    });
    const data = Buffer.concat(parts.map((p) => p.data));
    const etag = `${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex')))).digest('hex').toUpperCase()}-${parts.length}`;
    bucket.set(upload.key, { data, etag, meta: upload.meta, contentType: upload.contentType });
    this.uploads.delete(uploadId);
    res.setHeader('etag', `"${etag}"`);
    xmlReply(res, `<CompleteMultipartUploadResult><Bucket>${upload.bucket}</Bucket><Key>${xmlEscape(upload.key)}</Key><ETag>"${etag}"</ETag></CompleteMultipartUploadResult>`);
  }

  private listUploads(res: ServerResponse, bucket: string, prefix: string): void {
    const rows = [...this.uploads.entries()]
      .filter(([, u]) => u.bucket === bucket && u.key.startsWith(prefix))
      .map(([id, u]) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${id}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`);
    xmlReply(res, `<ListMultipartUploadsResult><Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated>${rows.join('')}</ListMultipartUploadsResult>`);
  }

  private listParts(res: ServerResponse, upload: Upload, uploadId: string): void {
    const rows = [...upload.parts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([n, p]) => `<Part><PartNumber>${n}</PartNumber><ETag>"${p.etag}"</ETag><Size>${p.data.length}</Size></Part>`);
    xmlReply(res, `<ListPartsResult><Bucket>${upload.bucket}</Bucket><Key>${xmlEscape(upload.key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${rows.join('')}</ListPartsResult>`);
  }

  /** Ages an unfinished upload, to test the abort of stale ones without waiting. */
  backdateUploads(ms: number): void {
    for (const u of this.uploads.values()) u.initiated = new Date(u.initiated.getTime() - ms);
  }
}

function metaOf(req: IncomingMessage): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-oss-meta-') && typeof v === 'string') meta[k.slice('x-oss-meta-'.length)] = v;
  return meta;
}

function parseRange(header: string | undefined, size: number): [number, number] | null {
  if (!header) return null;
  const m = /^bytes=(\d+)-(\d+)$/.exec(header);
  if (!m) throw new OssFailure(400, 'InvalidArgument', `Unsupported range ${header}.`);
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), size - 1);
  if (start > end) throw new OssFailure(416, 'InvalidRange', 'The requested range cannot be satisfied.');
  return [start, end];
}

function xmlReply(res: ServerResponse, xml: string): void {
  res.setHeader('content-type', 'application/xml');
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
}
