export * from './fields';
export * from './common';
export * from './redis';
export * from './display-url';
