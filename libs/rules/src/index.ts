export * from './text';
export * from './channel-id';
export * from './extras';
export * from './naming';
export * from './formats';
export * from './task-id';
export * from './topology';
export * from './serve-app';
