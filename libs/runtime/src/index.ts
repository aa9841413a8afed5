export * from './logger';
export * from './ops.module';
export * from './service-host';
