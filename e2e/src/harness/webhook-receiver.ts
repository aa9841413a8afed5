import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait';

export interface ReceivedRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly receivedAt: number;
  /** What the receiver answered. */
  status: number;
}

/** Decides the answer to one request: a status code (and optional body), given what was received so far. */
export type Responder = (request: ReceivedRequest, receiver: WebhookReceiver) => { status: number; body?: string; delayMs?: number };

/** A local HTTP receiver started by a test; records every request with its answer. */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly responder: Responder,
  ) {}

  static async start(responder: Responder = () => ({ status: 200 })): Promise<WebhookReceiver> {
    // The handler needs the receiver, which needs the listening server's port.
    const self: { receiver?: WebhookReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://receiver');
        const request: ReceivedRequest = { path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now(), status: 0 };
        const receiver = self.receiver!;
        receiver.requests.push(request);
        const answer = receiver.responder(request, receiver);
        request.status = answer.status;
        const reply = (response: ServerResponse): void => void response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '{}');
        if (answer.delayMs !== undefined) setTimeout(() => reply(res), answer.delayMs);
        else reply(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.receiver = new WebhookReceiver(server, (server.address() as AddressInfo).port, responder);
    return self.receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests to `path` that were answered with 2xx. */
  accepted(path?: string): ReceivedRequest[] {
    return this.requests.filter((request) => (path === undefined || request.path === path) && request.status >= 200 && request.status < 300);
  }

  async waitFor(what: string, condition: (requests: readonly ReceivedRequest[]) => boolean, timeoutMs: number, detail?: () => string): Promise<void> {
    await waitFor(what, () => condition(this.requests), { timeoutMs, ...(detail ? { detail } : {}) });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
