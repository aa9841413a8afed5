export * from './events';
export * from './completion';
export * from './master-cache';
export * from './packer-steps';
export * from './uploader-steps';
export * from './parked';
export * from './retries';
export * from './roots';
