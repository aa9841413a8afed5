import type { DataStore, Server, ServerOptions, Upload } from '@tus/server' with { 'resolution-mode': 'import' };
import type { FileStore } from '@tus/file-store' with { 'resolution-mode': 'import' };
import type { S3Store } from '@tus/s3-store' with { 'resolution-mode': 'import' };

export type { DataStore, Server, ServerOptions, Upload };

/**
 * The tus packages ship as ES modules only, and this project compiles to CommonJS: they are loaded with a real dynamic
 * import (which Node16 module output keeps as `import()`), once, when the first upload endpoint is created.
 */
export interface TusModules {
  Server: typeof Server;
  FileStore: typeof FileStore;
  S3Store: typeof S3Store;
}

let loaded: Promise<TusModules> | undefined;

export function loadTus(): Promise<TusModules> {
  loaded ??= Promise.all([import('@tus/server'), import('@tus/file-store'), import('@tus/s3-store')]).then(([server, file, s3]) => ({
    Server: server.Server,
    FileStore: file.FileStore,
    S3Store: s3.S3Store,
  }));
  return loaded;
}
