import type { ChannelPlan, Digests, ManifestInfo, PrefixDigests } from '@subpack/apk';
import type { MasterSource } from './master-source';
import type { StorageRoots } from './roots';

/** The content type of every channel object. */
export const APK_CONTENT_TYPE = 'application/vnd.android.package-archive';

/** What an object's metadata records about the APK in it, besides its digests. */
export interface ChannelFacts {
  channel: string;
  package: string;
  versionName: string;
  versionCode: number;
}

/** One channel APK to store: the master's bytes up to the prefix, then the tail. */
export interface StoreRequest {
  master: MasterSource;
  plan: ChannelPlan;
  /** Path relative to the target prefix, already checked to stay inside it. */
  name: string;
  /** Required by targets that record them (needsDigests); a directory target does without. */
  digests?: Digests;
  facts: ChannelFacts;
  /** MD5 of master[0:k]: recognises the copied part an interrupted upload left behind. */
  prefixMd5?: string;
  /** SHA-256 of the whole master: the content address of its copy next to an object-store target. */
  masterSha256?: string;
}

export type StoreMethod = 'file' | 'composed' | 'streamed';

export interface StoredObject {
  url: string;
  bytes: number;
  /** How the bytes got there; absent when an existing object was recognised. */
  method?: StoreMethod;
}

/**
 * Where channel APKs go. Object stores compose each channel from a server-side copy of the master's prefix
 * (UploadPartCopy) and the tail as the last part, so only the tail crosses the network.
 */
export interface ChannelTarget {
  readonly url: string;
  /** The directory that naming templates must stay inside (what targetRoot gives for this URL). */
  readonly root: string;
  /** Object stores record each channel's digests and compose from a content-addressed copy of a local master. */
  readonly needsDigests: boolean;
  /**
   * Fails with a permanent StorageError when nothing can be written at all (an object-store target whose bucket does
   * not exist), so a caller with many channels says it once instead of failing each one.
   */
  check(): Promise<void>;
  /** An object that already holds exactly these bytes, so a redelivery can skip the write. */
  existing(req: StoreRequest): Promise<StoredObject | null>;
  store(req: StoreRequest): Promise<StoredObject>;
}

export interface TargetOptions {
  /** false forces the streamed upload even where composition would work. */
  compose?: boolean;
  /** Where the one-line notices about fallbacks go. */
  log?: (line: string) => void;
  /** Where a file target may really write; without them, inside the target directory itself. */
  roots?: StorageRoots;
}

/** The request for one channel: its digests from the master's prefix state (when known), its facts from the manifest. */
export function channelStoreRequest(args: {
  master: MasterSource;
  manifest: Pick<ManifestInfo, 'package' | 'versionName' | 'versionCode'>;
  channel: string;
  plan: ChannelPlan;
  name: string;
  prefix?: PrefixDigests;
  digests?: Digests;
}): StoreRequest {
  const m = args.manifest;
  const digests = args.digests ?? args.prefix?.withTail(args.plan.tail);
  return {
    master: args.master,
    plan: args.plan,
    name: args.name,
    ...(digests ? { digests } : {}),
    facts: { channel: args.channel, package: m.package, versionName: m.versionName ?? '', versionCode: m.versionCode },
    ...(args.prefix ? { prefixMd5: args.prefix.prefixMd5() } : {}),
    ...(args.prefix?.fileSha256 ? { masterSha256: args.prefix.fileSha256 } : {}),
  };
}

/** The digests of a request to a target that records them; their absence is a bug in the caller, not bad input. */
export function requiredDigests(req: StoreRequest): Digests {
  if (!req.digests) throw new Error(`${req.name}: this target records digests, and the request carries none`);
  return req.digests;
}
