import { resolve } from 'node:path';
import { bool, int, optionalStr, str, type ConfigOf, type Field } from '@subpack/config';
import { MAX_CHANNELS } from '@subpack/rules';
import { ALLOWLIST_FIELD } from '@subpack/notify';
import { SERVE_CONFIG } from '@subpack/serve';
import { ROOTS_CONFIG, STORAGE_CONFIG } from '@subpack/storage';
import { ACCOUNTS_CONFIG } from './accounts';
import { destinationProblems, destinationsField } from './destinations';

const GIB = 1024 * 1024 * 1024;

/** The API's settings, read with the shared ones (AMQP_URL, REDIS_URL, SUBPACK_REDIS_PREFIX, HTTP_PORT). */
export const API_CONFIG = {
  ...ROOTS_CONFIG,
  ...STORAGE_CONFIG,
  ...ACCOUNTS_CONFIG,
  destinations: destinationsField('SUBPACK_API_DESTINATIONS'),
  // A deployment may lower the cap, never raise it: the packers check tasks against the same rules.
  maxChannels: int('SUBPACK_MAX_CHANNELS', MAX_CHANNELS, 1, MAX_CHANNELS),
  maxUploadBytes: int('SUBPACK_API_MAX_UPLOAD_BYTES', 4 * GIB, 1024 * 1024, 64 * GIB),
  linkTtlSeconds: int('SUBPACK_API_LINK_TTL', 3600, 60, 7 * 24 * 3600),
  /** HMAC key of download links for file:// destinations; every API replica needs the same one. */
  linkKey: optionalStr('SUBPACK_API_LINK_KEY', 'a secret of at least 32 characters signing download links of file:// destinations', { secret: true }) as Field<string | undefined>,
  /** Absolute base of the links the API hands out (e.g. https://packs.example.com); unset, the request's own host. */
  publicUrl: optionalStr('SUBPACK_API_PUBLIC_URL', 'the URL people reach the API at, e.g. https://packs.example.com') as Field<string | undefined>,
  /** Where `subpack serve` answers, for links to apps served on the fly (e.g. https://dl.example.com). */
  serveUrl: optionalStr('SUBPACK_API_SERVE_URL', 'the URL subpack serve answers at, e.g. https://dl.example.com') as Field<string | undefined>,
  /** The serve service's key for signed links, read under the same name as serve reads it. */
  serveUrlKey: SERVE_CONFIG.urlKey,
  /** The notifier's allowlist, for "send a test" (the same checks as a real delivery). */
  notifyAllowlist: ALLOWLIST_FIELD,
  trustProxy: bool('SUBPACK_API_TRUST_PROXY', false),
  secureCookies: bool('SUBPACK_API_SECURE_COOKIES', false),
  /** Check every JSON answer against the OpenAPI document and fail it when it differs (for tests). */
  checkResponses: bool('SUBPACK_API_CHECK_RESPONSES', false),
  /** The built web console served at `/`; when it has no index.html the API serves only itself. */
  consoleDir: str('SUBPACK_API_CONSOLE_DIR', resolve(__dirname, '../../../console/dist'), 'a directory with the built web console (console/dist)'),
};

export type ApiConfig = ConfigOf<typeof API_CONFIG>;

/** Problems between settings: destinations outside the target roots, a link key too short to sign with. */
export function apiConfigProblems(config: ApiConfig): string[] {
  const problems = destinationProblems(config.destinations, config.targetRoots);
  if (config.linkKey !== undefined && config.linkKey.length < 32) problems.push('SUBPACK_API_LINK_KEY: must be at least 32 characters');
  return problems;
}
