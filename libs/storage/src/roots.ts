import { realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import { BadInputError } from '@subpack/rules';
import { isWithin, resolveBeyond } from './real-path';

/**
 * Allowed storage roots: URL prefixes such as file:///srv/out or s3://bucket/releases. Matching is by scheme, host
 * and whole path segments on the normalised path, so file:///srv/out admits file:///srv/out/a but not
 * file:///srv/outside, and no "..", "%2e%2e" or doubled slash gets a URL out of its root. It never touches the
 * storage itself, so a refusal says nothing about whether the location exists.
 */
export class StorageRoots {
  private readonly prefixes: readonly string[];

  private constructor(
    readonly roots: readonly string[],
    private readonly variable: string,
  ) {
    this.prefixes = roots.map((root) => {
      const located = locate(root);
      if (located === null) throw new Error(`${JSON.stringify(root)} is not a URL prefix like file:///srv/apks or s3://bucket/prefix`);
      return located;
    });
  }

  /** Parses a comma-separated list; `variable` names the setting in refusals, e.g. SUBPACK_TARGET_ROOTS. */
  static parse(raw: string, variable: string): StorageRoots {
    const roots = raw.split(',').map((root) => root.trim()).filter(Boolean);
    if (roots.length === 0) throw new Error('must list at least one URL prefix');
    return new StorageRoots(roots, variable);
  }

  admits(url: string): boolean {
    const located = locate(url);
    if (located === null) return false;
    return this.prefixes.some((prefix) => located === prefix || located.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
  }

  /** Throws a refusal naming the URL and the setting, but not whether anything exists there. */
  check(url: string, what: string): void {
    if (!this.admits(url)) throw this.refusal(url, what);
  }

  /** The one refusal for a location outside the roots, whichever check found it. */
  refusal(url: string, what: string): OutsideRootsError {
    return new OutsideRootsError(`${what} ${url} is outside the allowed roots (${this.variable})`);
  }

  /**
   * Real paths of the file:// roots that exist, looked up once: every channel of every task asks. Cached answers fail
   * closed: a root later replaced by a link is still compared with where it was, so nothing beyond it is admitted.
   */
  private readonly realRoots = new Map<string, string>();

  private async realRootOfPrefix(prefix: string): Promise<string> {
    const known = this.realRoots.get(prefix);
    if (known !== undefined) return known;
    const dir = prefix.slice('file://'.length) || '/';
    const real = await realpath(dir).catch(() => null);
    if (real === null) return resolveBeyond(dir); // not there yet: where it would be, looked up again next time
    this.realRoots.set(prefix, real);
    return real;
  }

  /**
   * Where `path` really leads, after following every link on the way (see resolveBeyond), and the real path of the
   * file:// root it lies in, or null when it lies in none. The answer is the same whether or not `path` exists.
   */
  async locateReal(path: string): Promise<{ root: string; real: string } | null> {
    const real = await resolveBeyond(path);
    for (const prefix of this.prefixes) {
      if (!prefix.startsWith('file://')) continue;
      const root = await this.realRootOfPrefix(prefix);
      if (isWithin(real, root)) return { root, real };
    }
    return null;
  }

  /** Checks the URL's text, then, for a file, where it really leads; both refuse with the same message. */
  async checkReal(url: string, path: string | null, what: string): Promise<{ root: string; real: string } | null> {
    this.check(url, what);
    if (path === null) return null;
    const found = await this.locateReal(path);
    if (found === null) throw this.refusal(url, what);
    return found;
  }
}

/** A location outside the configured roots: permanent, since resending the same URL cannot succeed. */
export class OutsideRootsError extends BadInputError {
  override readonly name = 'OutsideRootsError';
}

/** scheme://host/normalised/path without a trailing slash, or null when the text is not a usable URL. */
function locate(text: string): string | null {
  let url: URL;
  let path: string;
  try {
    url = new URL(text);
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (!url.protocol || path.includes('\0')) return null;
  const host = url.protocol === 'file:' && url.hostname === 'localhost' ? '' : url.host.toLowerCase();
  const normalised = posix.normalize(`/${path}`).replace(/\/+$/, '');
  return `${url.protocol}//${host}${normalised}`;
}

function rootsField(env: string, what: string) {
  return {
    env,
    describe: `a comma-separated list of URL prefixes ${what}, e.g. file:///srv/apks`,
    parse: (raw: string): StorageRoots => StorageRoots.parse(raw, env),
  };
}

/**
 * Required settings of every service that touches storage. There is no default: a service that could read or write
 * anywhere its messages say is exactly what the roots exist to prevent.
 */
export const ROOTS_CONFIG = {
  masterRoots: rootsField('SUBPACK_MASTER_ROOTS', 'masters may be read from'),
  targetRoots: rootsField('SUBPACK_TARGET_ROOTS', 'channel APKs may be written to'),
};
