import type { ServiceDefinition } from '@subpack/runtime';
import { SERVE_CONFIG } from './serve-config';
import { ServeModule } from './serve.module';

/** The serve service as runService starts it: the deployable and `subpack serve` run this same definition. */
export const SERVE_SERVICE: ServiceDefinition<typeof SERVE_CONFIG> = {
  name: 'serve',
  config: SERVE_CONFIG,
  broker: false,
  module: (ctx) =>
    ServeModule.forRoot({ redis: ctx.redis, redisPrefix: ctx.config.redisPrefix, store: ctx.store, config: ctx.config, logger: ctx.logger, metrics: ctx.registry }),
  prefetch: () => ({}),
};
