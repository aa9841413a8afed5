import { StorageRoots } from '@subpack/storage';
import { asPermanent } from './permanent';

/** Where services may read masters and write channels. */
export interface ServiceRoots {
  masters: StorageRoots;
  targets: StorageRoots;
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

/** Roots from the same comma-separated lists as SUBPACK_MASTER_ROOTS and SUBPACK_TARGET_ROOTS. */
export function parseServiceRoots(masters: string, targets: string): ServiceRoots {
  return {
    masters: ROOTS_CONFIG.masterRoots.parse(masters),
    targets: ROOTS_CONFIG.targetRoots.parse(targets),
  };
}

/** Refuses a master or target outside the roots, before either is looked at. */
export function checkRoots(roots: ServiceRoots, master: string, target: string): void {
  try {
    roots.masters.check(master, 'master');
    roots.targets.check(target, 'target');
  } catch (err) {
    asPermanent(err);
  }
}
