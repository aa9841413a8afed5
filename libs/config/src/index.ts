export * from './fields';
export * from './common';
