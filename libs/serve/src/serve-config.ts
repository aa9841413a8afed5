import { int, loadConfig, str, type ConfigOf, type Field } from '@subpack/config';
import { ROOTS_CONFIG, type StorageRoots } from '@subpack/storage';

/** The serve service's own settings, read with the shared ones (REDIS_URL, SUBPACK_REDIS_PREFIX, HTTP_PORT). */
export const SERVE_CONFIG = {
  /** Bearer token for /admin; without it the admin endpoint is off. */
  adminToken: str('SUBPACK_SERVE_ADMIN_TOKEN', '', 'a secret token'),
  /** HMAC key for signed URLs; apps marked signed are refused without it. */
  urlKey: str('SUBPACK_SERVE_URL_KEY', '', 'a secret key'),
  maxAgeSeconds: int('SUBPACK_SERVE_MAX_AGE', 300, 0, 365 * 24 * 3600),
  /** Where registered masters may be read from, as for the services; unset, any master its operators name. */
  masterRoots: { ...ROOTS_CONFIG.masterRoots, optional: true } as Field<StorageRoots | undefined>,
};

export type ServeConfig = ConfigOf<typeof SERVE_CONFIG>;

/** The master roots a server with this environment applies, for registry edits made outside it (`serve app add`). */
export function serveMasterRoots(env: Record<string, string | undefined> = process.env): StorageRoots | undefined {
  return loadConfig({ masterRoots: SERVE_CONFIG.masterRoots }, env).masterRoots;
}
