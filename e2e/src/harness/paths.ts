import { join, resolve } from 'node:path';

/** The repository root: this file compiles to e2e/dist/harness/paths.js. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** The `subpack` CLI entry point. */
export const CLI_BIN = join(REPO_ROOT, 'cli', 'bin', 'subpack.js');

export const SERVICE_NAMES = ['packer', 'uploader', 'retry-scheduler', 'list-bridge', 'notifier', 'api'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function serviceMain(name: ServiceName): string {
  return join(REPO_ROOT, 'services', name, 'dist', 'main.js');
}

/** The broker without a vhost; each test file adds its own vhost to it. */
export const BROKER_URL = process.env.SUBPACK_E2E_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.SUBPACK_E2E_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `file:///abs/dir/` for a local directory: the storage URL form the contracts use for targets (trailing slash). */
export function fileTargetUrl(dir: string): string {
  const url = new URL(`file://${resolve(dir)}`).href;
  return url.endsWith('/') ? url : `${url}/`;
}

/** `file:///abs/path.apk` for a local file. */
export function fileUrl(path: string): string {
  return new URL(`file://${resolve(path)}`).href;
}
