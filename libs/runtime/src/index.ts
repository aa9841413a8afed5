export * from './logger';
export * from './ops.module';
export * from './service-host';
export * from './connections';
export * from './quiet-not-found';
export * from './internal-key';
