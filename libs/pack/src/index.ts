export * from './errors';
export * from './channels';
export * from './naming';
export * from './master';
export * from './master-cache';
export * from './pack-channels';
