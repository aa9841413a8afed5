import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PrefixDigests, checkFormatFits, planChannel, prefixLengthFor, type Digests } from '@subpack/apk';
import { writePlanToFile } from '@subpack/storage';
import { mergeExtras, templateNeedsDigests, withDigestStandIns, type Extras, type NamingValues, type PackFormat } from '@subpack/rules';
import { validateChannels, type ChannelSpec } from './channels';
import { assertUniqueNames, checkNameTemplate, renderName } from './naming';
import type { MasterInfo } from './master';

export interface LocalPackOptions {
  outDir: string;
  format: PackFormat;
  nameTemplate: string;
  /** Applied to every channel; a channel's own extras win. */
  extras: Extras;
  /** Compute MD5/SHA-256 of every output (costs one read of the master's prefix, once). */
  digests: boolean;
  /** The deployment's cap on channels per job (MAX_CHANNELS when absent). */
  maxChannels?: number;
}

export interface ChannelResult {
  channel: string;
  file: string;
  bytes: number;
  md5?: string;
  sha256?: string;
}

export interface ChannelFailure {
  channel: string;
  error: string;
}

export interface PackObserver<R = ChannelResult> {
  onResult?(result: R, index: number, total: number): void;
  onFailure?(failure: ChannelFailure, index: number, total: number): void;
}

/** Placeholder values for one channel; digests not computed yet are stood in for by zeros of the right length. */
export function nameValues(master: MasterInfo, channel: string, digests?: Digests): NamingValues {
  const m = master.manifest;
  const values = {
    channel,
    package: m.package,
    versionName: m.versionName ?? '',
    versionCode: String(m.versionCode),
    label: m.label ?? '',
  };
  return digests ? { ...values, md5: digests.md5, sha256: digests.sha256 } : withDigestStandIns(values);
}

/**
 * Checks everything that can be checked before the first byte is written: the channel list, the template, whether the
 * format fits this APK, every output name's byte limits (digests stood in for by zeros of their fixed length), and
 * that no two channels collide on one output name.
 */
export function preparePack(master: MasterInfo, channels: readonly ChannelSpec[], opts: LocalPackOptions): void {
  // Limits apply to what is actually written: the common extras merged into each channel's own.
  validateChannels(
    channels.map((c) => ({ id: c.id, extras: mergeExtras(opts.extras, c.extras) })),
    opts.maxChannels,
  );
  checkNameTemplate(opts.nameTemplate);
  const anyExtras = Object.keys(opts.extras).length > 0 || channels.some((c) => Object.keys(c.extras).length > 0);
  checkFormatFits(master.layout, opts.format, anyExtras);
  const names = channels.map((c) => ({ channel: c.id, name: renderName(opts.nameTemplate, nameValues(master, c.id), opts.outDir) }));
  if (!templateNeedsDigests(opts.nameTemplate)) assertUniqueNames(names);
}

/**
 * Writes one channel APK per channel into a local directory. A channel that fails is reported and the others carry on.
 */
export async function packToDirectory(
  master: MasterInfo,
  channels: readonly ChannelSpec[],
  opts: LocalPackOptions,
  observer: PackObserver = {},
): Promise<{ results: ChannelResult[]; failures: ChannelFailure[] }> {
  preparePack(master, channels, opts);
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const nameNeedsDigests = templateNeedsDigests(opts.nameTemplate);
  // Hash the shared prefix while the first copies run: they mostly wait on I/O, so the CPU is free for it.
  const prefix = opts.digests || nameNeedsDigests ? PrefixDigests.compute(master.path, prefixLengthFor(master.layout, opts.format)) : undefined;
  prefix?.catch(() => undefined);
  return packEachChannel(channels, observer, async (channel) => {
    const plan = planChannel(master.layout, opts.format, { channel: channel.id, extras: mergeExtras(opts.extras, channel.extras) });
    // Names with {md5}/{sha256} wait for the prefix hash; otherwise the digests are taken after the copy.
    const digests = nameNeedsDigests && prefix ? (await prefix).withTail(plan.tail) : undefined;
    const file = renderName(opts.nameTemplate, nameValues(master, channel.id, digests), outDir);
    const outPath = join(outDir, file);
    await mkdir(dirname(outPath), { recursive: true });
    await writePlanToFile(master.path, plan, outPath);
    const final = digests ?? (prefix ? (await prefix).withTail(plan.tail) : undefined);
    return { channel: channel.id, file: outPath, bytes: plan.size, ...(final ?? {}) };
  });
}

/**
 * Runs one channel at a time; a channel that fails is reported with its reason and the rest carry on, so local and
 * object-store packs share one failure policy.
 */
export async function packEachChannel<R>(
  channels: readonly ChannelSpec[],
  observer: PackObserver<R>,
  packOne: (channel: ChannelSpec) => Promise<R>,
): Promise<{ results: R[]; failures: ChannelFailure[] }> {
  const results: R[] = [];
  const failures: ChannelFailure[] = [];
  for (const [index, channel] of channels.entries()) {
    try {
      const result = await packOne(channel);
      results.push(result);
      observer.onResult?.(result, index, channels.length);
    } catch (err) {
      const failure = { channel: channel.id, error: err instanceof Error ? err.message : String(err) };
      failures.push(failure);
      observer.onFailure?.(failure, index, channels.length);
    }
  }
  return { results, failures };
}
