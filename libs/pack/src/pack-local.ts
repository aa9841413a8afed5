import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PrefixDigests, checkFormatFits, planChannel, prefixLengthFor, writePlanToFile, type ChannelFormat, type Digests } from '@subpack/apk';
import { DEFAULT_CHANNEL_LIMITS, validateChannels, type ChannelLimits, type ChannelSpec, type Extras } from './channels';
import { assertUniqueNames, checkNameTemplate, renderName, templateNeedsDigests, type NameValues } from './naming';
import type { MasterInfo } from './master';

export interface LocalPackOptions {
  outDir: string;
  format: ChannelFormat;
  nameTemplate: string;
  /** Applied to every channel; a channel's own extras win. */
  extras: Extras;
  /** Compute MD5/SHA-256 of every output (costs one read of the master's prefix, once). */
  digests: boolean;
  limits?: ChannelLimits;
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

export interface PackObserver {
  onResult?(result: ChannelResult, index: number, total: number): void;
  onFailure?(failure: ChannelFailure, index: number, total: number): void;
}

export function mergeExtras(common: Extras, own: Extras): Extras {
  return { ...common, ...own };
}

export function nameValues(master: MasterInfo, channel: string, digests?: Digests): NameValues {
  const m = master.manifest;
  return {
    channel,
    package: m.package,
    versionName: m.versionName ?? '',
    versionCode: String(m.versionCode),
    label: m.label ?? '',
    md5: digests?.md5 ?? '',
    sha256: digests?.sha256 ?? '',
  };
}

/**
 * Checks everything that can be checked before the first byte is written: the channel list, the template, whether the
 * format fits this APK, and that no two channels collide on one output name.
 */
export function preparePack(master: MasterInfo, channels: readonly ChannelSpec[], opts: LocalPackOptions): void {
  // Limits apply to what is actually written: the common extras merged into each channel's own.
  validateChannels(
    channels.map((c) => ({ id: c.id, extras: mergeExtras(opts.extras, c.extras) })),
    opts.limits ?? DEFAULT_CHANNEL_LIMITS,
  );
  checkNameTemplate(opts.nameTemplate);
  const anyExtras = Object.keys(opts.extras).length > 0 || channels.some((c) => Object.keys(c.extras).length > 0);
  checkFormatFits(master.layout, opts.format, anyExtras);
  if (!templateNeedsDigests(opts.nameTemplate)) {
    assertUniqueNames(channels.map((c) => ({ channel: c.id, name: renderName(opts.nameTemplate, nameValues(master, c.id), opts.outDir) })));
  }
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
  // Hash the shared prefix while the first copies run: the copies are kernel work, the hashing is ours.
  const prefix = opts.digests || nameNeedsDigests ? PrefixDigests.compute(master.path, prefixLengthFor(master.layout, opts.format)) : undefined;
  prefix?.catch(() => undefined);
  const results: ChannelResult[] = [];
  const failures: ChannelFailure[] = [];
  for (const [index, channel] of channels.entries()) {
    try {
      const plan = planChannel(master.layout, opts.format, { channel: channel.id, extras: mergeExtras(opts.extras, channel.extras) });
      // Names with {md5}/{sha256} wait for the prefix hash; otherwise the digests are taken after the copy.
      const digests = nameNeedsDigests && prefix ? (await prefix).withTail(plan.tail) : undefined;
      const file = renderName(opts.nameTemplate, nameValues(master, channel.id, digests), outDir);
      const outPath = join(outDir, file);
      await mkdir(dirname(outPath), { recursive: true });
      await writePlanToFile(master.path, plan, outPath);
      const final = digests ?? (prefix ? (await prefix).withTail(plan.tail) : undefined);
      const result: ChannelResult = { channel: channel.id, file: outPath, bytes: plan.size, ...(final ?? {}) };
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
