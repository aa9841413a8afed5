import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { AmqpContext } from '@subpack/messaging';
import { Counter, Registry } from 'prom-client';
import { QUEUES } from '@subpack/rules';
import { LOGGER, type Logger } from '@subpack/runtime';
import { storeChannel, type UploaderDeps } from '@subpack/workflow';

export const UPLOADER_DEPS = Symbol('UPLOADER_DEPS');

@Controller()
export class UploaderController {
  private readonly stored: Counter;
  private readonly bytes: Counter;

  constructor(
    @Inject(UPLOADER_DEPS) private readonly deps: UploaderDeps,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Registry) registry: Registry,
  ) {
    this.stored = new Counter({ name: 'subpack_channels_stored_total', help: 'Channel APKs stored', labelNames: ['skipped'], registers: [registry] });
    this.bytes = new Counter({ name: 'subpack_tail_bytes_total', help: 'Tail bytes written (the prefix is a server-side or kernel copy)', registers: [registry] });
  }

  @EventPattern(QUEUES.uploaderStore)
  async onStore(@Payload() body: unknown, @Ctx() context: AmqpContext): Promise<void> {
    const job = body as { taskId?: unknown; channel?: unknown } | null;
    // A failure is logged once, by the consumer, with the task and channel it concerns.
    const { url, skipped, tailBytes, cancelled } = await storeChannel(this.deps, body, { attempt: context.getMessage().attempt });
    if (cancelled) {
      this.logger.info({ taskId: job?.taskId, channel: job?.channel }, 'channel not stored: its task was cancelled');
      return;
    }
    this.stored.inc({ skipped: String(skipped) });
    this.bytes.inc(tailBytes);
    this.logger.info({ taskId: job?.taskId, channel: job?.channel, 'url.full': url, skipped }, 'channel stored');
  }
}
