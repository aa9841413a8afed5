import { Module, type DynamicModule } from '@nestjs/common';
import { MAX_CHANNELS, QUEUES } from '@subpack/rules';
import { int } from '@subpack/config';
import { runService } from '@subpack/runtime';
import { MasterCache } from '@subpack/pack';
import { ROOTS_CONFIG, STORAGE_CONFIG, type PackerDeps } from '@subpack/workflow';
import { PACKER_DEPS, PackerController } from './packer.controller';

@Module({})
class PackerModule {}

void runService({
  name: 'packer',
  config: {
    prefetch: int('SUBPACK_PREFETCH', 2, 1, 1000),
    batchSize: int('SUBPACK_BATCH_SIZE', 25, 1, 10_000),
    // A deployment may lower the cap, never raise it: publishers validate against the same rules.
    maxChannels: int('SUBPACK_MAX_CHANNELS', MAX_CHANNELS, 1, MAX_CHANNELS),
    ...ROOTS_CONFIG,
    ...STORAGE_CONFIG,
  },
  module(ctx): DynamicModule {
    const deps: PackerDeps = {
      store: ctx.store,
      publisher: ctx.manager.publisher,
      masters: new MasterCache(ctx.config.masterRoots),
      batchSize: ctx.config.batchSize,
      maxChannels: ctx.config.maxChannels,
      owner: ctx.owner,
      roots: { masters: ctx.config.masterRoots, targets: ctx.config.targetRoots },
    };
    return { module: PackerModule, controllers: [PackerController], providers: [{ provide: PACKER_DEPS, useValue: deps }] };
  },
  prefetch: (ctx) => ({ [QUEUES.packerTasks]: 1, [QUEUES.packerBatches]: ctx.config.prefetch }),
});
