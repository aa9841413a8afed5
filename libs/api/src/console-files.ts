import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

/** The console's own policy: only its own scripts, styles and API, never framed. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names everything under assets/ by its content hash: cached for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface ConsoleFiles {
  /** Answers a GET or HEAD outside /api/; false when the request is not the console's. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/**
 * The built web console (console/dist) served at `/`: files as they are, index.html for any other path (the app
 * routes itself), each with the console's security headers. Null when the directory has no index.html: the API then
 * serves only itself.
 */
export function consoleFiles(directory: string): ConsoleFiles | null {
  const root = resolve(directory);
  const index = join(root, 'index.html');
  if (!existsSync(index)) return null;
  const send = (req: IncomingMessage, res: ServerResponse, file: string, size: number, cache: string): void => {
    res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': cache });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };
  return {
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? '/', 'http://console').pathname);
      } catch {
        return false;
      }
      if (path === '/api' || path.startsWith('/api/') || path.includes('\0')) return false;
      const file = resolve(root, `.${path}`);
      if (file.startsWith(root + sep) && file !== index) {
        const stat = statSync(file, { throwIfNoEntry: false });
        if (stat?.isFile()) {
          send(req, res, file, stat.size, path.startsWith('/assets/') ? IMMUTABLE : 'no-cache');
          return true;
        }
      }
      // A missing hashed asset is a 404, not the app: a stale page must not run index.html as a script.
      if (path.startsWith('/assets/')) return false;
      const stat = statSync(index, { throwIfNoEntry: false });
      if (!stat?.isFile()) return false;
      send(req, res, index, stat.size, 'no-store');
      return true;
    },
  };
}
