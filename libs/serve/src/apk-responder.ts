import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBadInput } from '@subpack/rules';
import { MasterUnavailableError, OutsideRootsError } from '@subpack/storage';
import type { Logger } from '@subpack/runtime';
import type { AppRegistry, ServedApp, ServedChannel } from './app-registry';
import type { ChannelApk, ChannelApks } from './channel-apks';
import { contentDisposition, contentRange, httpDate, ifRangeMatches, noneMatch, parseRange } from '@subpack/runtime';
import { signatureProblem } from './signed-url';

export const APK_CONTENT_TYPE = 'application/vnd.android.package-archive';

export interface ResponderOptions {
  /** Key for signed URLs; apps marked `signed` are refused (403) when it is missing. */
  urlKey: string | undefined;
  /** Cache-Control max-age for a CDN in front, in seconds. */
  maxAgeSeconds: number;
  logger: Logger;
  now?: () => number;
}

export interface ResponseMetrics {
  onResponse(status: number): void;
  onBytes(bytes: number): void;
  onStreaming(delta: 1 | -1): void;
}

export interface ApkRequest {
  app: string;
  /** The last path segment, `<channel>.apk`, already URL-decoded. */
  file: string;
  query: Record<string, unknown>;
}

const NO_METRICS: ResponseMetrics = { onResponse: () => undefined, onBytes: () => undefined, onStreaming: () => undefined };

/**
 * Answers GET and HEAD for `/apk/<app>/<channel>.apk`: the master's prefix streams from storage with backpressure and
 * the channel's tail follows from memory, so no channel file exists anywhere and memory does not grow with downloads.
 */
export class ApkResponder {
  constructor(
    private readonly registry: AppRegistry,
    private readonly apks: ChannelApks,
    private readonly opts: ResponderOptions,
    private readonly metrics: ResponseMetrics = NO_METRICS,
  ) {}

  async respond(target: ApkRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let apk: ChannelApk | undefined;
    try {
      const refusal = await this.lookup(target);
      if ('status' in refusal) return this.fail(res, refusal.status, refusal.message);
      apk = await this.apks.open(refusal.app, refusal.channel);
      await this.send(apk, refusal.maxAge, req, res);
    } catch (err) {
      if (res.headersSent) {
        // Mid-body: the client sees a short body against Content-Length, which every client treats as an error.
        if (!isClientGone(err)) this.opts.logger.warn({ error: err, 'url.path': req.url }, 'download aborted');
        res.destroy();
        return;
      }
      const unavailable = err instanceof MasterUnavailableError || err instanceof OutsideRootsError;
      const status = unavailable ? 503 : 500;
      const known = unavailable || isBadInput(err);
      this.opts.logger.error({ error: err, 'url.path': req.url }, 'cannot serve channel APK');
      this.fail(res, status, known ? (err as Error).message : 'internal error');
    } finally {
      await apk?.master.close();
    }
  }

  private async lookup(target: ApkRequest): Promise<{ status: number; message: string } | { app: ServedApp; channel: ServedChannel; maxAge: number }> {
    if (!target.file.endsWith('.apk')) return { status: 404, message: 'channel APK paths end in .apk' };
    const channelId = target.file.slice(0, -'.apk'.length);
    const app = await this.registry.getApp(target.app);
    // A 404 never repeats the request's names: the answer must not carry text an attacker chose.
    if (!app) return { status: 404, message: 'no such app' };
    const channel = await this.registry.getChannel(app.name, channelId);
    if (!channel) return { status: 404, message: 'the app has no such channel' };
    let maxAge = this.opts.maxAgeSeconds;
    if (app.signed) {
      if (!this.opts.urlKey) return { status: 403, message: 'this app needs signed URLs, and this server has no SUBPACK_SERVE_URL_KEY' };
      const now = Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
      const problem = signatureProblem(this.opts.urlKey, app.name, channel.id, target.query, now);
      if (problem) return { status: 403, message: problem };
      // A cache in front must not serve a signed link past its expiry.
      maxAge = Math.min(maxAge, Number(target.query.expires) - now);
    }
    return { app, channel, maxAge };
  }

  private async send(apk: ChannelApk, maxAge: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const size = apk.plan.size;
    const lastModified = httpDate(apk.lastModifiedMs);
    res.setHeader('Content-Type', APK_CONTENT_TYPE);
    res.setHeader('ETag', apk.etag);
    res.setHeader('Last-Modified', lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Disposition', contentDisposition(apk.fileName));
    res.setHeader('Cache-Control', `public, max-age=${maxAge}`);
    if (noneMatch(req.headers['if-none-match'], apk.etag)) return this.finish(res, 304);
    const range = ifRangeMatches(header(req, 'if-range'), apk.etag, lastModified) ? parseRange(header(req, 'range'), size) : { kind: 'whole' as const };
    if (range.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      return this.fail(res, 416, `range not satisfiable: the APK is ${size} bytes`);
    }
    const [start, end] = range.kind === 'range' ? [range.start, range.end] : [0, size - 1];
    if (range.kind === 'range') res.setHeader('Content-Range', contentRange(start, end, size));
    res.setHeader('Content-Length', end - start + 1);
    res.statusCode = range.kind === 'range' ? 206 : 200;
    this.metrics.onResponse(res.statusCode);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.metrics.onStreaming(1);
    try {
      await this.body(apk, start, end, res);
    } finally {
      this.metrics.onStreaming(-1);
    }
  }

  /** `start..end` inclusive: the part inside the master's prefix from storage, then the part inside the tail. */
  private async body(apk: ChannelApk, start: number, end: number, res: ServerResponse): Promise<void> {
    const k = apk.plan.prefixLength;
    if (start < k) {
      const prefixEnd = Math.min(end, k - 1);
      await apk.master.writeRange(start, prefixEnd, res);
      this.metrics.onBytes(prefixEnd - start + 1);
    }
    const tail = end >= k ? apk.plan.tail.subarray(Math.max(0, start - k), end - k + 1) : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      res.once('error', reject);
      res.end(tail, () => resolve());
    });
    this.metrics.onBytes(tail.length);
  }

  private finish(res: ServerResponse, status: number): void {
    this.metrics.onResponse(status);
    res.statusCode = status;
    res.end();
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    this.metrics.onResponse(status);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.removeHeader('Content-Length');
    res.end(JSON.stringify({ statusCode: status, message }));
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function isClientGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}
