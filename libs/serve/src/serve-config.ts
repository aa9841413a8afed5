import { int, str, type ConfigOf } from '@subpack/config';

/** The serve service's own settings, read with the shared ones (REDIS_URL, SUBPACK_REDIS_PREFIX, HTTP_PORT). */
export const SERVE_CONFIG = {
  /** Bearer token for /admin; without it the admin endpoint is off. */
  adminToken: str('SUBPACK_SERVE_ADMIN_TOKEN', '', 'a secret token'),
  /** HMAC key for signed URLs; apps marked signed are refused without it. */
  urlKey: str('SUBPACK_SERVE_URL_KEY', '', 'a secret key'),
  maxAgeSeconds: int('SUBPACK_SERVE_MAX_AGE', 300, 0, 365 * 24 * 3600),
};

export type ServeConfig = ConfigOf<typeof SERVE_CONFIG>;
