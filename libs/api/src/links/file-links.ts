import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BadInputError, type ProblemCode } from '@subpack/rules';
import { contentDisposition, contentRange, httpDate, ifRangeMatches, noneMatch, parseRange } from '@subpack/runtime';
import { FileMaster, openMaster, type StorageRoots } from '@subpack/storage';

const APK_CONTENT_TYPE = 'application/vnd.android.package-archive';

/** What a download link grants: one channel APK of one task, or one stored file inside the target roots. */
export type LinkSubject = { kind: 'channel'; taskId: string; channel: string } | { kind: 'file'; url: string };

export class LinkError extends BadInputError {
  override readonly name = 'LinkError';

  constructor(
    readonly code: ProblemCode,
    message: string,
  ) {
    super(message);
  }
}

interface TokenBody {
  s: LinkSubject;
  /** Expiry, Unix seconds. */
  e: number;
}

/**
 * Expiring download tokens for channel APKs the API serves itself (file:// targets, which have no store to presign):
 * `<base64url JSON>.<base64url HMAC-SHA256>`. The MAC covers the subject and the expiry, so a token opens that one
 * thing until it expires and cannot be edited into another.
 */
export class FileLinks {
  private readonly key: Buffer;

  constructor(key: string | Buffer, private readonly now: () => number = Date.now) {
    this.key = Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8');
    // A short key can be found by trying; 32 bytes is what HMAC-SHA256 can use fully.
    if (this.key.length < 32) throw new Error('the link signing key must be at least 32 bytes');
  }

  sign(subject: LinkSubject, lifetimeSeconds: number): { token: string; expiresAt: Date } {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) throw new LinkError('INVALID_INPUT', 'a link lifetime is a positive whole number of seconds');
    const expires = Math.floor(this.now() / 1000) + lifetimeSeconds;
    const body = Buffer.from(JSON.stringify({ s: subject, e: expires } satisfies TokenBody)).toString('base64url');
    return { token: `${body}.${this.mac(body)}`, expiresAt: new Date(expires * 1000) };
  }

  /** The subject of a genuine, unexpired token; a LinkError (FORBIDDEN) for anything else. */
  verify(token: string): LinkSubject {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) throw new LinkError('FORBIDDEN', 'this is not a download link token');
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    // Constant-time, so a valid MAC cannot be found byte by byte from response times.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new LinkError('FORBIDDEN', 'the link signature does not match');
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenBody;
    if (parsed.e * 1000 <= this.now()) throw new LinkError('FORBIDDEN', 'the link has expired');
    return parsed.s;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body, 'utf8').digest('base64url');
  }
}

/**
 * Answers GET and HEAD for one stored channel APK with the same HTTP rules as `subpack serve` (one byte range,
 * If-Range, If-None-Match, RFC 6266 file names). The file must really lie inside the target roots, links followed.
 */
export async function serveFile(req: IncomingMessage, res: ServerResponse, fileUrl: string, targetRoots: StorageRoots): Promise<void> {
  const file = await openMaster(fileUrl, { roots: targetRoots }).catch((err: unknown) => {
    throw new LinkError('NOT_FOUND', err instanceof Error ? err.message.replace(/^master:? /, '') : 'no such file');
  });
  if (!(file instanceof FileMaster)) throw new LinkError('INVALID_INPUT', 'only file:// channel APKs are served by the API; object stores get presigned links');
  const handle = await file.openVerified();
  let streaming = false;
  try {
    const st = await handle.stat();
    const etag = `"${st.ino.toString(36)}-${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
    const lastModified = httpDate(st.mtimeMs);
    res.setHeader('Content-Type', APK_CONTENT_TYPE);
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Disposition', contentDisposition(basename(file.path)));
    res.setHeader('Cache-Control', 'private, no-store');
    if (noneMatch(header(req, 'if-none-match'), etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const range = ifRangeMatches(header(req, 'if-range'), etag, lastModified) ? parseRange(header(req, 'range'), st.size) : { kind: 'whole' as const };
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${st.size}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    const [start, end] = range.kind === 'range' ? [range.start, range.end] : [0, st.size - 1];
    if (range.kind === 'range') res.setHeader('Content-Range', contentRange(start, end, st.size));
    res.setHeader('Content-Length', Math.max(0, end - start + 1));
    res.statusCode = range.kind === 'range' ? 206 : 200;
    if (req.method === 'HEAD' || st.size === 0) {
      res.end();
      return;
    }
    // The stream owns the descriptor from here and closes it when it ends or the client goes away.
    streaming = true;
    await pipeline(createReadStream('', { fd: handle, start, end, autoClose: true }), res).catch(() => res.destroy());
  } finally {
    if (!streaming) await handle.close();
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
