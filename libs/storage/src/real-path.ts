import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';

/** Linux's limit on symbolic links followed while resolving one path. */
const MAX_LINKS = 40;

/**
 * Where `path` really leads, as the kernel would resolve it now, whether or not it exists: each component is looked
 * at with lstat, links are followed, and ".." steps back from where the links led (not from the text before it). The
 * first component that cannot be looked at (missing, unreadable) ends the walk, and the rest is appended as written.
 * A decision based on this never depends on whether the final file exists.
 */
export async function resolveBeyond(path: string): Promise<string> {
  // A path that exists is resolved by the kernel in one call; only one with a missing part needs the walk below.
  if (path.startsWith('/')) {
    const real = await realpath(path).catch(() => null);
    if (real !== null) return real;
  }
  let links = 0;
  const pending = path.split('/').reverse();
  let current = '/';
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      current = posix.dirname(current);
      continue;
    }
    const next = posix.join(current, part);
    const st = await lstat(next).catch(() => null);
    if (st === null) return asWritten(next, pending);
    if (!st.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (++links > MAX_LINKS) return asWritten(next, pending);
    const link = await readlink(next);
    if (link.startsWith('/')) current = '/';
    pending.push(...link.split('/').reverse());
  }
  return current;
}

/** `resolved` followed by the components still `pending` (stacked in reverse), normalised, without a trailing slash. */
function asWritten(resolved: string, pending: string[]): string {
  const path = posix.normalize([resolved, ...pending.reverse()].join('/'));
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** `path` is `dir` or below it; both are real paths. */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/** The real path of an open file: what the descriptor refers to now, whatever happened to the name it was opened by. */
export function realPathOf(handle: FileHandle): Promise<string> {
  return readlink(descriptorPath(handle));
}

/**
 * A path that reaches the very file or directory `handle` refers to. Paths below an open directory's descriptor path
 * are resolved from that directory, as openat(2) would: a link swapped in above it afterwards changes nothing.
 */
export function descriptorPath(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`;
}

/**
 * Creates `dir` and its missing parents one component at a time. fs.mkdir's recursive mode never returns on some
 * kernel file systems: on /proc, mkdir answers ENOENT, which it takes for a missing parent, forever.
 */
export async function makeDirectories(dir: string): Promise<void> {
  // Every channel of a task asks for the same directory: one stat answers, where a walk would fail a mkdir per component.
  if ((await stat(dir).catch(() => null))?.isDirectory()) return;
  let path = '';
  for (const part of posix.resolve(dir).split('/').filter((p) => p !== '')) {
    path += `/${part}`;
    await mkdir(path).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
  }
}

/** Thrown by {@link openDirectoryWithin} when a component leads out of its root. */
export class LeavesRootError extends Error {
  override readonly name = 'LeavesRootError';
}

/**
 * Opens `components` below the real directory `root` one at a time, creating each missing one when `create` is set,
 * and checks after each open that the directory reached is still inside `root`. Every step starts from the descriptor
 * of the previous one, so nothing renamed or linked into place during the walk can take it outside. Returns null when
 * a component is missing and `create` is not set.
 */
export async function openDirectoryWithin(root: string, components: readonly string[], create: boolean): Promise<FileHandle | null> {
  if (create) await makeDirectories(root);
  let dir: FileHandle;
  try {
    dir = await open(root, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    if (!create && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    if (!isWithin(await realPathOf(dir), root)) throw new LeavesRootError(`${root} has moved`);
    for (const part of components) {
      if (part === '' || part === '.') continue;
      if (part === '..' || part.includes('/')) throw new LeavesRootError(`${JSON.stringify(part)} is not a directory name`);
      const path = `${descriptorPath(dir)}/${part}`;
      if (create) await mkdir(path).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
      let next: FileHandle;
      try {
        next = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!create && code === 'ENOENT') {
          await dir.close();
          return null;
        }
        // A link to somewhere that is not a directory, or a file in the way: nothing can be written below it.
        if (code === 'ENOTDIR' || code === 'ENOENT' || code === 'ELOOP') throw new LeavesRootError(`${part} is not a directory`);
        throw err;
      }
      await dir.close();
      dir = next;
      if (!isWithin(await realPathOf(dir), root)) throw new LeavesRootError(`${part} leads out of ${root}`);
    }
    return dir;
  } catch (err) {
    await dir.close().catch(() => undefined);
    throw err;
  }
}
