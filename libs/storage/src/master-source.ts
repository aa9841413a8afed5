import { access, constants, stat } from 'node:fs/promises';
import { parseServableUrl, StorageUrlError } from './storage-url';

/** A master that cannot be used as given: missing, unreadable, or in a store this build cannot read yet. Permanent. */
export class MasterUnavailableError extends Error {
  override readonly name = 'MasterUnavailableError';
}

/** Where a master's bytes can be read locally, plus the identity that changes whenever the file does. */
export interface LocalMaster {
  url: string;
  path: string;
  size: number;
  /** dev:ino:size:mtime — a cheap key that changes when the file is replaced or rewritten. */
  identity: string;
}

export async function resolveMaster(masterUrl: string): Promise<LocalMaster> {
  let parsed;
  try {
    parsed = parseServableUrl(masterUrl, 'master');
  } catch (err) {
    throw new MasterUnavailableError((err as StorageUrlError).message);
  }
  if (parsed.scheme !== 'file') throw new MasterUnavailableError(`master: no reader for ${parsed.scheme}:// masters: ${masterUrl}`);
  const path = parsed.path;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new MasterUnavailableError(`master ${path} is not a regular file`);
    await access(path, constants.R_OK);
    return { url: masterUrl, path, size: st.size, identity: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` };
  } catch (err) {
    if (err instanceof MasterUnavailableError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MasterUnavailableError(`master ${path} does not exist`);
    if (code === 'EACCES') throw new MasterUnavailableError(`master ${path} is not readable`);
    throw err;
  }
}
