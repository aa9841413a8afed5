import { PrefixDigests, planChannel, prefixLengthFor } from '@subpack/apk';
import { FileMaster, channelStoreRequest, openTarget, targetRoot, type MasterSource, type StoreMethod } from '@subpack/storage';
import type { ChannelSpec } from './channels';
import type { MasterInfo } from './master';
import { mergeExtras } from '@subpack/rules';
import { nameValues, packEachChannel, preparePack, type ChannelFailure, type LocalPackOptions, type PackObserver } from './pack-local';
import { renderName } from './naming';

export interface TargetPackOptions extends Omit<LocalPackOptions, 'outDir' | 'digests'> {
  /** file:///dir/, s3://bucket/prefix/ or oss://bucket/prefix/. */
  targetUrl: string;
  /** false forces streamed uploads to object stores. */
  compose: boolean;
  /** Where fallback notices go. */
  log?: (line: string) => void;
}

export interface TargetResult {
  channel: string;
  url: string;
  bytes: number;
  md5: string;
  sha256: string;
  /** Absent when an identical object was already there. */
  method?: StoreMethod;
}

/**
 * Packs channels of a master from any source into any target: the path for object-store masters and targets. Digests
 * come from one read of master[0:k] (of the whole local master when an object store needs its content address), and
 * an object already holding a channel's exact bytes is left as it is, so a rerun after a crash only does what is left.
 */
export async function packToTarget(
  master: MasterInfo,
  source: MasterSource,
  channels: readonly ChannelSpec[],
  opts: TargetPackOptions,
  observer: PackObserver<TargetResult> = {},
): Promise<{ results: TargetResult[]; failures: ChannelFailure[] }> {
  const root = targetRoot(opts.targetUrl);
  preparePack(master, channels, { ...opts, outDir: root, digests: true });
  const target = openTarget(opts.targetUrl, { compose: opts.compose, ...(opts.log ? { log: opts.log } : {}) });
  const k = prefixLengthFor(master.layout, opts.format);
  const contentAddress = source instanceof FileMaster && !opts.targetUrl.startsWith('file:');
  const prefix = await PrefixDigests.fromChunks(source.url, k, source.stream(0, contentAddress ? source.size : k), { fileSha256: contentAddress });
  return packEachChannel(channels, observer, async (channel): Promise<TargetResult> => {
    const plan = planChannel(master.layout, opts.format, { channel: channel.id, extras: mergeExtras(opts.extras, channel.extras) });
    const digests = prefix.withTail(plan.tail);
    const name = renderName(opts.nameTemplate, nameValues(master, channel.id, digests), root);
    const req = channelStoreRequest({ master: source, manifest: master.manifest, channel: channel.id, plan, name, prefix, digests });
    const stored = (await target.existing(req)) ?? (await target.store(req));
    return { channel: channel.id, url: stored.url, bytes: plan.size, ...digests, ...(stored.method ? { method: stored.method } : {}) };
  });
}
