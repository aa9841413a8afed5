export * from './logger';
export * from './ops.module';
export * from './service-host';
export * from './connections';
