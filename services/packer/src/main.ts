import { Module, type DynamicModule } from '@nestjs/common';
import { QUEUES } from '@subpack/contracts';
import { DEFAULT_CHANNEL_LIMITS } from '@subpack/pack';
import { int, runService } from '@subpack/runtime';
import { MasterCache, type PackerDeps } from '@subpack/workflow';
import { PACKER_DEPS, PackerController } from './packer.controller';

@Module({})
class PackerModule {}

void runService({
  name: 'packer',
  config: {
    prefetch: int('SUBPACK_PREFETCH', 2, 1, 1000),
    batchSize: int('SUBPACK_BATCH_SIZE', 25, 1, 10_000),
    maxChannels: int('SUBPACK_MAX_CHANNELS', DEFAULT_CHANNEL_LIMITS.maxChannels, 1, 1_000_000),
    maxExtrasBytes: int('SUBPACK_MAX_EXTRAS_BYTES', DEFAULT_CHANNEL_LIMITS.maxExtrasBytes, 0, 1024 * 1024),
  },
  module(ctx): DynamicModule {
    const deps: PackerDeps = {
      store: ctx.store,
      publisher: ctx.manager.publisher,
      masters: new MasterCache(),
      batchSize: ctx.config.batchSize,
      limits: { ...DEFAULT_CHANNEL_LIMITS, maxChannels: ctx.config.maxChannels, maxExtrasBytes: ctx.config.maxExtrasBytes },
      owner: ctx.owner,
    };
    return { module: PackerModule, controllers: [PackerController], providers: [{ provide: PACKER_DEPS, useValue: deps }] };
  },
  prefetch: (ctx) => ({ [QUEUES.packerTasks]: 1, [QUEUES.packerBatches]: ctx.config.prefetch }),
});
