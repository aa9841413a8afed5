import { Module, type DynamicModule } from '@nestjs/common';
import { QUEUES } from '@subpack/rules';
import { int } from '@subpack/config';
import { runService } from '@subpack/runtime';
import { MasterCache } from '@subpack/pack';
import { ROOTS_CONFIG, STORAGE_CONFIG, type UploaderDeps } from '@subpack/workflow';
import { UPLOADER_DEPS, UploaderController } from './uploader.controller';

@Module({})
class UploaderModule {}

void runService({
  name: 'uploader',
  config: { prefetch: int('SUBPACK_PREFETCH', 8, 1, 1000), ...ROOTS_CONFIG, ...STORAGE_CONFIG },
  module(ctx): DynamicModule {
    const deps: UploaderDeps = {
      store: ctx.store,
      publisher: ctx.manager.publisher,
      masters: new MasterCache(ctx.config.masterRoots),
      roots: { masters: ctx.config.masterRoots, targets: ctx.config.targetRoots },
      owner: ctx.owner,
      targetOptions: { log: (line) => ctx.logger.warn(line) },
    };
    return { module: UploaderModule, controllers: [UploaderController], providers: [{ provide: UPLOADER_DEPS, useValue: deps }] };
  },
  prefetch: (ctx) => ({ [QUEUES.uploaderStore]: ctx.config.prefetch }),
});
