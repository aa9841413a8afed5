import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Counter, Registry } from 'prom-client';
import { QUEUES } from '@subpack/rules';
import { LOGGER, type Logger } from '@subpack/runtime';
import { acceptTask, planBatch, type PackerDeps } from '@subpack/workflow';

export const PACKER_DEPS = Symbol('PACKER_DEPS');

@Controller()
export class PackerController {
  private readonly tasks: Counter;
  private readonly batches: Counter;
  private readonly channels: Counter;
  private readonly channelsFailed: Counter;

  constructor(
    @Inject(PACKER_DEPS) private readonly deps: PackerDeps,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Registry) registry: Registry,
  ) {
    this.tasks = new Counter({ name: 'subpack_tasks_total', help: 'Pack tasks accepted', registers: [registry] });
    this.batches = new Counter({ name: 'subpack_batches_total', help: 'Channel batches planned', registers: [registry] });
    this.channels = new Counter({ name: 'subpack_channels_planned_total', help: 'Channels planned and handed to the uploader', registers: [registry] });
    this.channelsFailed = new Counter({ name: 'subpack_channels_unplannable_total', help: 'Channels that could not be planned and were counted failed', registers: [registry] });
  }

  @EventPattern(QUEUES.packerTasks)
  async onTask(@Payload() body: unknown): Promise<void> {
    const taskId = (body as { taskId?: unknown } | null)?.taskId;
    // A failure is logged once, by the consumer, with the task it concerns.
    const { batches, resent, note } = await acceptTask(this.deps, body);
    this.tasks.inc();
    if (note !== undefined) this.logger.warn({ taskId, batches, resent }, note);
    else this.logger.info({ taskId, batches, resent }, resent ? 'task already known; not started again' : 'task accepted');
  }

  @EventPattern(QUEUES.packerBatches)
  async onBatch(@Payload() body: unknown): Promise<void> {
    const b = body as { taskId?: unknown; batch?: { index?: unknown } } | null;
    const { planned, failed } = await planBatch(this.deps, body);
    this.batches.inc();
    this.channels.inc(planned);
    this.channelsFailed.inc(failed);
    this.logger.info({ taskId: b?.taskId, batch: b?.batch?.index, channels: planned, failed }, 'batch planned');
  }
}
