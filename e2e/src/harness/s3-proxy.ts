import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the proxy passed on, as the store saw it. */
export interface S3Call {
  /** UploadPartCopy, UploadPart, ListParts, … (the S3 operation), or the HTTP method for the rest. */
  kind: string;
  /** `bucket/key` (path-style addressing). */
  object: string;
  uploadId: string | undefined;
  partNumber: number | undefined;
  status: number;
}

/**
 * An HTTP proxy in front of a real S3 server (moto) that records every call and can hold UploadPartCopy requests
 * back: the copy a client asked for reaches the store only on release(), as when the store is still copying while
 * the client is gone. Services point their S3 endpoint at it; it changes nothing in a request or an answer.
 */
export class S3CountingProxy {
  readonly calls: S3Call[] = [];
  private holding = false;
  private readonly held: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(upstream: string): Promise<S3CountingProxy> {
    const target = new URL(upstream);
    const self: { proxy?: S3CountingProxy } = {};
    const server = createServer((req, res) => self.proxy!.receive(req, res, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.proxy = new S3CountingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self.proxy;
  }

  /** From now on, UploadPartCopy requests wait here until release(). */
  hold(): void {
    this.holding = true;
  }

  /** Copies held back. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Sends the held copies on to the store (answering whoever still listens) and stops holding. */
  release(): void {
    this.holding = false;
    for (const send of this.held.splice(0)) send();
  }

  count(kind: string, object?: string): number {
    return this.calls.filter((c) => c.kind === kind && (object === undefined || c.object === object)).length;
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private receive(req: IncomingMessage, res: ServerResponse, target: URL): void {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const call: S3Call = {
      kind: kindOf(req, url),
      object: decodeURIComponent(url.pathname.slice(1)),
      uploadId: url.searchParams.get('uploadId') ?? undefined,
      partNumber: url.searchParams.has('partNumber') ? Number(url.searchParams.get('partNumber')) : undefined,
      status: 0,
    };
    // The client may be gone (killed) by the time an answer is sent.
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = (): void => this.forward(req, Buffer.concat(chunks), res, target, call);
      if (this.holding && call.kind === 'UploadPartCopy') this.held.push(send);
      else send();
    });
  }

  private forward(req: IncomingMessage, body: Buffer, res: ServerResponse, target: URL, call: S3Call): void {
    const headers = { ...req.headers };
    delete headers.expect;
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      call.status = answer.statusCode ?? 0;
      this.calls.push(call);
      if (res.destroyed) {
        answer.resume();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      call.status = 502;
      this.calls.push(call);
      if (!res.headersSent && !res.destroyed) res.writeHead(502).end(err.message);
    });
    upstream.end(body);
  }
}

function kindOf(req: IncomingMessage, url: URL): string {
  const q = url.searchParams;
  if (req.method === 'PUT' && q.has('partNumber') && req.headers['x-amz-copy-source'] !== undefined) return 'UploadPartCopy';
  if (req.method === 'PUT' && q.has('partNumber')) return 'UploadPart';
  if (req.method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (req.method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (req.method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (req.method === 'GET' && q.has('uploadId')) return 'ListParts';
  if (req.method === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
  return req.method ?? 'unknown';
}
