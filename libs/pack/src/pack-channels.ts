import { PrefixDigests, checkFormatFits, planChannel, prefixLengthFor, type ChannelPlan, type Digests } from '@subpack/apk';
import { FileMaster, channelStoreRequest, type ChannelTarget, type MasterSource, type StoreMethod, type StoredObject, type StoreRequest } from '@subpack/storage';
import { mergeExtras, templateNeedsDigests, withDigestStandIns, type Extras, type NamingValues, type PackFormat } from '@subpack/rules';
import { validateChannels, type ChannelSpec } from './channels';
import { assertUniqueNames, checkNameTemplate, renderName } from './naming';
import { loadMaster, type MasterInfo } from './master';

/** How every channel of one job is made: the format, the naming template and the extras common to all channels. */
export interface PackRecipe {
  format: PackFormat;
  naming: string;
  /** Applied to every channel; a channel's own extras win. */
  extras: Extras;
}

export interface PackOptions extends PackRecipe {
  /** The directory names must stay inside: the target's root (see targetRoot). */
  root: string;
  /** The deployment's cap on channels per job (MAX_CHANNELS when absent). */
  maxChannels?: number;
}

/** What a rerun found: `written` when the output was missing or held other bytes, `kept` when it was this APK already. */
export type PackOutcome = 'written' | 'kept';

export interface PackedChannel {
  channel: string;
  url: string;
  bytes: number;
  outcome: PackOutcome;
  md5?: string;
  sha256?: string;
  /** How the bytes got there; absent when kept. */
  method?: StoreMethod;
}

export interface ChannelFailure {
  channel: string;
  error: string;
}

export interface PackObserver<R = PackedChannel> {
  onResult?(result: R, index: number, total: number): void;
  onFailure?(failure: ChannelFailure, index: number, total: number): void;
}

/** Placeholder values for one channel; digests not computed yet are stood in for by zeros of the right length. */
export function nameValues(master: MasterInfo, channel: string, digests?: Digests): NamingValues {
  return manifestNameValues(master.manifest, channel, digests);
}

/** The same, from the manifest facts alone (a master inspected earlier, e.g. to preview a task's file names). */
export function manifestNameValues(m: { package: string; versionName?: string | null | undefined; versionCode: number; label?: string | null | undefined }, channel: string, digests?: Digests): NamingValues {
  const values = {
    channel,
    package: m.package,
    versionName: m.versionName ?? '',
    versionCode: String(m.versionCode),
    label: m.label ?? '',
  };
  return digests ? { ...values, md5: digests.md5, sha256: digests.sha256 } : withDigestStandIns(values);
}

export interface NamedChannel {
  plan: ChannelPlan;
  /** Relative to the root, checked to stay inside it. */
  name: string;
  /** Present when the prefix digests were given. */
  digests?: Digests;
}

/**
 * The one way a channel becomes a tail and an output name: `subpack pack`, the packer, the uploader and `subpack serve`
 * all plan here, so the same recipe gives the same bytes and the same name everywhere. With the prefix digests the
 * channel's exact digests come too (and names with {md5}/{sha256} need them).
 */
export function planNamedChannel(master: MasterInfo, recipe: PackRecipe, channel: ChannelSpec, root: string, prefix: PrefixDigests): Required<NamedChannel>;
export function planNamedChannel(master: MasterInfo, recipe: PackRecipe, channel: ChannelSpec, root: string, prefix?: PrefixDigests): NamedChannel;
export function planNamedChannel(master: MasterInfo, recipe: PackRecipe, channel: ChannelSpec, root: string, prefix?: PrefixDigests): NamedChannel {
  const plan = planChannel(master.layout, recipe.format, { channel: channel.id, extras: mergeExtras(recipe.extras, channel.extras) });
  const digests = prefix?.withTail(plan.tail);
  const name = renderName(recipe.naming, nameValues(master, channel.id, digests), root);
  return digests ? { plan, name, digests } : { plan, name };
}

/**
 * Checks everything that can be checked before the first byte is written: the channel list, the template, whether the
 * format fits this APK, every output name's byte limits (digests stood in for by zeros of their fixed length), and
 * that no two channels collide on one output name.
 */
export function preparePack(master: MasterInfo, channels: readonly ChannelSpec[], opts: PackOptions): void {
  // Limits apply to what is actually written: the common extras merged into each channel's own.
  validateChannels(
    channels.map((c) => ({ id: c.id, extras: mergeExtras(opts.extras, c.extras) })),
    opts.maxChannels,
  );
  checkNameTemplate(opts.naming);
  const anyExtras = Object.keys(opts.extras).length > 0 || channels.some((c) => Object.keys(c.extras).length > 0);
  checkFormatFits(master.layout, opts.format, anyExtras);
  const names = channels.map((c) => ({ channel: c.id, name: renderName(opts.naming, nameValues(master, c.id), opts.root) }));
  if (!templateNeedsDigests(opts.naming)) assertUniqueNames(names);
}

/**
 * Puts one planned channel into the target, the same way for every caller: an output that already holds exactly these
 * bytes is kept, anything else is (re)written and replaces what was there atomically.
 */
export async function writeChannel(target: ChannelTarget, req: StoreRequest): Promise<{ stored: StoredObject; outcome: PackOutcome }> {
  const kept = await target.existing(req);
  if (kept) return { stored: kept, outcome: 'kept' };
  return { stored: await target.store(req), outcome: 'written' };
}

/**
 * Digests of master[0:k] from one read, started at once so it overlaps the first copies. A target that composes from a
 * content-addressed copy of a local master gets the whole master's SHA-256 from the same read.
 */
function startPrefixDigests(source: MasterSource, k: number, target: ChannelTarget): Promise<PrefixDigests> {
  const whole = source instanceof FileMaster && target.needsDigests;
  const digests = PrefixDigests.fromChunks(source.url, k, source.stream(0, whole ? source.size : k), { fileSha256: whole });
  digests.catch(() => undefined);
  return digests;
}

export interface PackChannelsOptions extends Omit<PackOptions, 'root'> {
  /** Compute MD5/SHA-256 of every output even where neither the target nor the names need them. */
  digests: boolean;
  /** The master's layout and manifest when already read (otherwise read here). */
  info?: MasterInfo;
  locale?: string;
}

/**
 * Packs channels of a master from anywhere (a file or an object) into any target (a directory or an object-store
 * prefix): the one pipeline of `subpack pack`. Every channel goes through writeChannel, so a rerun keeps what is
 * already right and only writes what is missing or different. A channel that fails is reported and the others carry
 * on.
 */
export async function packChannels(
  source: MasterSource,
  target: ChannelTarget,
  channels: readonly ChannelSpec[],
  opts: PackChannelsOptions,
  observer: PackObserver = {},
): Promise<{ results: PackedChannel[]; failures: ChannelFailure[] }> {
  const master = opts.info ?? (await loadMaster(source, opts.locale ? { locale: opts.locale } : {}));
  const root = target.root;
  preparePack(master, channels, { ...opts, root });
  const nameNeedsDigests = templateNeedsDigests(opts.naming);
  const wantDigests = opts.digests || nameNeedsDigests || target.needsDigests;
  const prefix = wantDigests ? startPrefixDigests(source, prefixLengthFor(master.layout, opts.format), target) : undefined;
  return packEachChannel(channels, observer, async (channel): Promise<PackedChannel> => {
    // Names with {md5}/{sha256} and targets that record digests wait for the prefix hash; others take it after the copy.
    const early = prefix && (nameNeedsDigests || target.needsDigests) ? await prefix : undefined;
    const { plan, name, digests } = planNamedChannel(master, opts, channel, root, early);
    const req = channelStoreRequest({ master: source, manifest: master.manifest, channel: channel.id, plan, name, ...(early ? { prefix: early } : {}), ...(digests ? { digests } : {}) });
    const { stored, outcome } = await writeChannel(target, req);
    const final = digests ?? (prefix ? (await prefix).withTail(plan.tail) : undefined);
    return { channel: channel.id, url: stored.url, bytes: plan.size, outcome, ...(final ?? {}), ...(stored.method ? { method: stored.method } : {}) };
  });
}

/**
 * Runs one channel at a time; a channel that fails is reported with its reason and the rest carry on, so every pack
 * shares one failure policy.
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
