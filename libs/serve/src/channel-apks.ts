import { posix } from 'node:path';
import { planChannel, type ChannelPlan } from '@subpack/apk';
import { mergeExtras, nameValues, renderName } from '@subpack/pack';
import { MasterCache } from '@subpack/workflow';
import type { ServedApp, ServedChannel } from './app-registry';
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
 * Plans channel APKs exactly as `subpack pack` does (same planChannel, same extras merge, same naming), so the bytes
 * are identical by construction. The master's tail, manifest and prefix hash are cached by the master's identity and
 * recomputed when it changes; each channel's plan and digest, O(tail), are kept in a small cache bounded in bytes.
 */
export class ChannelApks {
  private readonly plans = new Map<string, Planned>();
  private planBytes = 0;

  constructor(
    private readonly masters = new MasterCache(),
    private readonly maxPlanBytes = 64 * 1024 * 1024,
  ) {}

  async open(app: ServedApp, channel: ServedChannel): Promise<ChannelApk> {
    for (let attempt = 1; ; attempt++) {
      const pinned = await pinMaster(app.master);
      try {
        const master = await this.masters.get(app.master);
        // The analysis must describe the version we hold open; if the file moved on in between, pin the new one.
        if (master.local.identity === pinned.identity) {
          const planned = await this.planned(app, channel, master);
          const lastModifiedMs = Math.max(pinned.modifiedMs, Date.parse(app.updatedAt), Date.parse(channel.updatedAt));
          return { master: pinned, ...planned, etag: `"${planned.sha256}"`, lastModifiedMs };
        }
        if (attempt >= PIN_ATTEMPTS) throw new Error(`master ${app.master} keeps changing while it is read; try again once it is replaced atomically`);
      } catch (err) {
        await pinned.close();
        throw err;
      }
      await pinned.close();
    }
  }

  private async planned(app: ServedApp, channel: ServedChannel, master: Awaited<ReturnType<MasterCache['get']>>): Promise<Planned> {
    const extras = mergeExtras(app.extras, channel.extras);
    const key = JSON.stringify([master.local.identity, app.format, app.naming, channel.id, extras]);
    const hit = this.plans.get(key);
    if (hit) {
      this.plans.delete(key);
      this.plans.set(key, hit);
      return hit;
    }
    const plan = planChannel(master.layout, app.format, { channel: channel.id, extras });
    const digests = (await this.masters.digestsFor(master, plan.prefixLength)).withTail(plan.tail);
    // The naming template may place files in directories; a download is named by its last segment.
    const fileName = posix.basename(renderName(app.naming, nameValues(master, channel.id, digests), '/'));
    const planned = { plan, sha256: digests.sha256, fileName };
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
