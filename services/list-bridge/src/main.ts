import { Module, type DynamicModule } from '@nestjs/common';
import { EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import { str } from '@subpack/config';
import { runService } from '@subpack/runtime';
import { RedisListBridge } from '@subpack/state';

@Module({})
class ListBridgeModule {}

/** Moves tasks that legacy publishers push onto a Redis list into the broker, losing none on a crash. */
void runService({
  name: 'list-bridge',
  config: {
    listKey: str('SUBPACK_LIST_KEY', 'subpack:tasks'),
    processingKey: str('SUBPACK_LIST_PROCESSING_KEY', ''),
  },
  module(): DynamicModule {
    return { module: ListBridgeModule };
  },
  prefetch: () => ({}),
  async afterStart(ctx) {
    const bridge = new RedisListBridge(ctx.redis, {
      sourceList: ctx.config.listKey,
      processingList: ctx.config.processingKey || `${ctx.config.listKey}:processing`,
      publish: (body) => ctx.manager.publisher.publishRaw(EXCHANGES.main, ROUTING_KEYS.packTask, body, { persistent: true, contentType: 'application/json' }),
      onError: (err: unknown) => ctx.logger.warn({ error: err }, 'list bridge publish failed; will retry'),
    });
    bridge.start();
    return () => bridge.stop();
  },
});
