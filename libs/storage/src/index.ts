export * from './storage-url';
export * from './master-source';
export * from './target';
