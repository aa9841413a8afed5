export * from './levels';
export * from './subscriptions';
export * from './signing';
export * from './formats';
export * from './address-policy';
export * from './http-sender';
export * from './batcher';
