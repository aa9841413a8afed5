import { validateChannelStoreJob, type ChannelStoreJob } from '@subpack/contracts';
import { PermanentError, TransientError, type Publisher } from '@subpack/messaging';
import type { TaskStore } from '@subpack/state';
import { MasterUnavailableError, StorageError, StorageUrlError, channelStoreRequest, openTarget, type ChannelTarget, type StoredObject, type TargetOptions } from '@subpack/storage';
import { completeTaskOnce } from './completion';
import { now, publishEvent } from './events';
import type { MasterCache } from './master-cache';

export interface UploaderDeps {
  store: TaskStore;
  publisher: Publisher;
  masters: MasterCache;
  /** Identifies this process in completion leases. */
  owner: string;
  openTarget?: (url: string, opts?: TargetOptions) => ChannelTarget;
  /** Fallback notices and composition switches for object-store targets. */
  targetOptions?: TargetOptions;
}

export function parseStoreJob(body: unknown): ChannelStoreJob {
  const parsed = validateChannelStoreJob(body);
  if (!parsed.ok) throw new PermanentError(`invalid channel store job: ${parsed.errors.join('; ')}`);
  return parsed.value;
}

/** A store that refuses for good (no bucket, no access, a changed master) parks the job; anything else is retried. */
function storeFailure(err: unknown, fileName: string, target: string): Error {
  const message = `storing ${fileName} to ${target} failed: ${(err as Error).message}`;
  return err instanceof StorageError && err.permanent ? new PermanentError(message, { cause: err }) : new TransientError(message, { cause: err });
}

/**
 * Writes one channel APK, records it, announces it, and completes the task when it was the last one. Every step is
 * safe to repeat: a redelivered job finds the finished object and only re-sends the (deduplicable) events.
 */
export async function storeChannel(deps: UploaderDeps, body: unknown): Promise<{ url: string; skipped: boolean }> {
  const job = parseStoreJob(body);
  // The contract already checked that prefixLength + tail is the announced size.
  const tail = Buffer.from(job.tail, 'base64');
  const master = await deps.masters.get(job.master).catch((err: unknown) => {
    throw err instanceof MasterUnavailableError ? new PermanentError(err.message) : err;
  });
  // The prefix is copied from the master as it is now; it must be the master the packer planned against: the
  // channel's digest from this master's prefix and the job's tail must be the one the packer announced.
  const prefix = await deps.masters.digestsFor(master, job.prefixLength);
  if (job.masterSha256 && prefix.fileSha256 !== undefined && prefix.fileSha256 !== job.masterSha256) {
    throw new PermanentError(`master ${job.master} changed since the task was planned (sha256 ${prefix.fileSha256} != ${job.masterSha256})`);
  }
  if (prefix.withTail(tail).sha256 !== job.sha256) {
    throw new PermanentError(`channel ${JSON.stringify(job.channel)}: master ${job.master} changed since the task was planned (its prefix no longer gives sha256 ${job.sha256})`);
  }
  let target: ChannelTarget;
  try {
    target = (deps.openTarget ?? openTarget)(job.target, { ...deps.targetOptions, compose: job.upload !== 'stream' });
  } catch (err) {
    throw err instanceof StorageUrlError ? new PermanentError(err.message, { cause: err }) : err;
  }
  const request = channelStoreRequest({
    master: master.source,
    manifest: master.manifest,
    channel: job.channel,
    plan: { prefixLength: job.prefixLength, tail, size: job.bytes },
    name: job.fileName,
    prefix,
    digests: { md5: job.md5, sha256: job.sha256 },
  });
  let stored: StoredObject | null;
  try {
    stored = await target.existing(request);
  } catch (err) {
    throw storeFailure(err, job.fileName, job.target);
  }
  const skipped = stored !== null;
  if (!stored) {
    try {
      stored = await target.store(request);
    } catch (err) {
      throw storeFailure(err, job.fileName, job.target);
    }
  }
  const mark = await deps.store.markChannelStored(job.taskId, job.channel, { url: stored.url, bytes: job.bytes, md5: job.md5, sha256: job.sha256 });
  await publishEvent(deps.publisher, {
    type: 'channel.stored',
    taskId: job.taskId,
    channel: job.channel,
    url: stored.url,
    bytes: job.bytes,
    md5: job.md5,
    sha256: job.sha256,
    at: now(),
  });
  if (mark.complete) await completeTaskOnce(deps.store, deps.publisher, job.taskId, deps.owner);
  return { url: stored.url, skipped };
}
