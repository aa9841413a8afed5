import { ROOTS_CONFIG, STORAGE_CONFIG, StorageRoots, parseStorageUrl } from '@subpack/storage';
import { asPermanent } from './permanent';

/** The services' required root settings and their object-storage settings; defined with the stores themselves. */
export { ROOTS_CONFIG, STORAGE_CONFIG };

/** Where services may read masters and write channels. */
export interface ServiceRoots {
  masters: StorageRoots;
  targets: StorageRoots;
}

/** Roots from the same comma-separated lists as SUBPACK_MASTER_ROOTS and SUBPACK_TARGET_ROOTS. */
export function parseServiceRoots(masters: string, targets: string): ServiceRoots {
  return {
    masters: ROOTS_CONFIG.masterRoots.parse(masters),
    targets: ROOTS_CONFIG.targetRoots.parse(targets),
  };
}

/**
 * Refuses a master or target outside the roots before either is read or written: by their text, and a file target by
 * where its directory really leads through links. A file master is checked the same way when it is opened.
 */
export async function checkRoots(roots: ServiceRoots, master: string, target: string): Promise<void> {
  try {
    roots.masters.check(master, 'master');
    const parsed = parseStorageUrl(target, 'target');
    await roots.targets.checkReal(target, parsed.scheme === 'file' ? parsed.path : null, 'target');
  } catch (err) {
    asPermanent(err);
  }
}
