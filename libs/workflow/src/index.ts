export * from './events';
export * from './completion';
export * from './packer-steps';
export * from './uploader-steps';
export * from './parked';
export * from './retries';
export * from './roots';
export * from './stalls';
