import type { ServiceDefinition } from '@subpack/runtime';
import { STORAGE_CONFIG } from '@subpack/storage';
import { SERVE_CONFIG } from './serve-config';
import { ServeModule } from './serve.module';

/** Masters may live in object stores, so the storage settings are checked at start with serve's own. */
const SERVE_SERVICE_CONFIG = { ...SERVE_CONFIG, ...STORAGE_CONFIG };

/** The serve service as runService starts it: the deployable and `subpack serve` run this same definition. */
export const SERVE_SERVICE: ServiceDefinition<typeof SERVE_SERVICE_CONFIG> = {
  name: 'serve',
  config: SERVE_SERVICE_CONFIG,
  broker: false,
  module: (ctx) =>
    ServeModule.forRoot({ redis: ctx.redis, redisPrefix: ctx.config.redisPrefix, store: ctx.store, config: ctx.config, logger: ctx.logger, metrics: ctx.registry }),
  prefetch: () => ({}),
};
