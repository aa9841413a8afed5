import { posix } from 'node:path';
import { prefixLengthFor, type ChannelPlan } from '@subpack/apk';
import { MasterCache, planNamedChannel, type CachedMaster } from '@subpack/pack';
import { mergeExtras } from '@subpack/rules';
import type { AppRegistry, ServedApp, ServedChannel } from './app-registry';
import { pinMaster, type PinnedMaster } from './pinned-master';

/** Everything a response needs about one channel APK, with the master version it was planned from held open. */
export interface ChannelApk {
  master: PinnedMaster;
  plan: ChannelPlan;
  sha256: string;
  /** Strong: the SHA-256 of the exact bytes, so CDNs and resumed downloads can trust it across servers. */
  etag: string;
  lastModifiedMs: number;
  fileName: string;
}

interface Planned {
  plan: ChannelPlan;
  sha256: string;
  fileName: string;
}

/** A master replaced this many times while one request was being planned is being rewritten, not replaced. */
const PIN_ATTEMPTS = 3;

/**
 * Plans channel APKs exactly as `subpack pack` does (planNamedChannel: same plan, same extras merge, same naming), so the bytes
 * are identical by construction. The master's tail, manifest and prefix hash are cached by the master's identity
 * (MasterCache) and recomputed when it changes; each channel's plan and digest, O(tail), are kept in a small cache
 * bounded in bytes.
 */
export class ChannelApks {
  private readonly plans = new Map<string, Planned>();
  private planBytes = 0;
  private readonly seen = new Map<string, Promise<number>>();

  constructor(
    private readonly registry: AppRegistry,
    private readonly masters = new MasterCache(),
    private readonly maxPlanBytes = 64 * 1024 * 1024,
  ) {}

  /** The master's layout and manifest, read once per version. */
  analyse(masterUrl: string): Promise<CachedMaster> {
    return this.masters.get(masterUrl);
  }

  async open(app: ServedApp, channel: ServedChannel): Promise<ChannelApk> {
    for (let attempt = 1; ; attempt++) {
      const master = await this.masters.get(app.master);
      // The analysis must describe the version we hold; if the file moved on in between, analyse the new one.
      const pinned = await pinMaster(master.source);
      if (!pinned) {
        if (attempt >= PIN_ATTEMPTS) throw new Error(`master ${app.master} keeps changing while it is read; replace it atomically (write, then rename)`);
        continue;
      }
      try {
        const planned = await this.planned(app, channel, master);
        const masterTime = pinned.modifiedMs ?? (await this.seenAt(app.name, pinned.identity));
        const lastModifiedMs = Math.max(masterTime, Date.parse(app.updatedAt), Date.parse(channel.updatedAt));
        return { master: pinned, ...planned, etag: `"${planned.sha256}"`, lastModifiedMs };
      } catch (err) {
        await pinned.close();
        throw err;
      }
    }
  }

  private seenAt(app: string, identity: string): Promise<number> {
    const key = `${app}|${identity}`;
    let seen = this.seen.get(key);
    if (!seen) {
      seen = this.registry.masterSeenAt(app, identity);
      seen.catch(() => this.seen.delete(key));
      this.seen.set(key, seen);
    }
    return seen;
  }

  private async planned(app: ServedApp, channel: ServedChannel, master: CachedMaster): Promise<Planned> {
    const extras = mergeExtras(app.extras, channel.extras);
    const key = JSON.stringify([master.source.url, master.source.identity, app.format, app.naming, channel.id, extras]);
    const hit = this.plans.get(key);
    if (hit) {
      this.plans.delete(key);
      this.plans.set(key, hit);
      return hit;
    }
    const prefix = await this.masters.digestsFor(master, prefixLengthFor(master.layout, app.format));
    const { plan, name, digests } = planNamedChannel(master, app, { id: channel.id, extras: channel.extras }, '/', prefix);
    // The naming template may place files in directories; a download is named by its last segment.
    const planned = { plan, sha256: digests.sha256, fileName: posix.basename(name) };
    this.remember(key, planned);
    return planned;
  }

  private remember(key: string, planned: Planned): void {
    this.plans.set(key, planned);
    this.planBytes += planned.plan.tail.length;
    while (this.planBytes > this.maxPlanBytes && this.plans.size > 1) {
      const [oldestKey, oldest] = this.plans.entries().next().value as [string, Planned];
      this.plans.delete(oldestKey);
      this.planBytes -= oldest.plan.tail.length;
    }
  }
}
