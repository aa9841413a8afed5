export * from './fields';
export * from './common';
export * from './redis';
