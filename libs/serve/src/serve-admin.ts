import { checkFormatFits } from '@subpack/apk';
import { validateChannels, type ChannelSpec } from '@subpack/pack';
import { mergeExtras, type PackFormat } from '@subpack/rules';
import type { TaskStore } from '@subpack/state';
import type { StorageRoots } from '@subpack/storage';
import { MasterCache } from '@subpack/pack';
import { AppRegistry, RegistryInputError, checkAppName, checkAppSettings, type AppSettings, type ServedApp, type ServedChannel } from './app-registry';
import { ChannelApks } from './channel-apks';

export class UnknownAppError extends RegistryInputError {}

export interface ImportResult {
  imported: string[];
  /** Channels of the task that were not imported, with the reason. */
  skipped: { channel: string; reason: string }[];
}

/**
 * Registry changes with the checks a download would otherwise hit later: the master is readable and the format fits
 * it, and channels carry only what the format can hold. Shared by the CLI and the admin endpoint.
 */
export class ServeAdmin {
  constructor(
    readonly registry: AppRegistry,
    private readonly apks: ChannelApks = new ChannelApks(registry),
  ) {}

  /** An admin that registers only masters really inside `roots` (none: any master). */
  static withRoots(registry: AppRegistry, roots: StorageRoots | undefined): ServeAdmin {
    return new ServeAdmin(registry, new ChannelApks(registry, new MasterCache(roots)));
  }

  async putApp(name: string, input: Partial<AppSettings> & { master?: unknown }): Promise<ServedApp> {
    checkAppName(name);
    const settings = checkAppSettings(input);
    await this.checkFits(settings.master, settings.format, Object.keys(settings.extras).length > 0);
    return this.registry.putApp(name, settings);
  }

  async app(name: string): Promise<ServedApp> {
    const app = await this.registry.getApp(name);
    if (!app) throw new UnknownAppError(`no app ${JSON.stringify(name)}; add it first (subpack serve app add)`);
    return app;
  }

  async putChannels(appName: string, channels: readonly ChannelSpec[]): Promise<ServedChannel[]> {
    const app = await this.app(appName);
    // The limits apply to what each APK carries: the app's extras merged into the channel's own.
    const merged = channels.map((c) => ({ id: c.id, extras: mergeExtras(app.extras, c.extras) }));
    validateChannels(merged);
    if (merged.some((c) => Object.keys(c.extras).length > 0)) await this.checkFits(app.master, app.format, true);
    return this.registry.putChannels(app.name, channels);
  }

  /**
   * Registers the channels a finished pack task stored. The task records each APK's SHA-256 but not the channel's own
   * extras, so each channel is planned with the app's settings and imported only when its bytes would be the very
   * APK the task stored; the rest are reported with the reason.
   */
  async importTask(appName: string, store: TaskStore, taskId: string): Promise<ImportResult> {
    const app = await this.app(appName);
    const task = await store.getTask(taskId);
    if (!task) throw new RegistryInputError(`no task ${JSON.stringify(taskId)} (never submitted, or expired after finishing)`);
    if (task.status === 'pending' || task.status === 'running') {
      throw new RegistryInputError(`task ${JSON.stringify(taskId)} is still ${task.status}; import it once it has finished`);
    }
    const result: ImportResult = { imported: [], skipped: [] };
    const now = new Date().toISOString();
    for (const [id, record] of Object.entries(task.channels)) {
      if (record.status !== 'stored' || !record.sha256) {
        result.skipped.push({ channel: id, reason: 'the task did not store it' });
        continue;
      }
      const apk = await this.apks.open(app, { id, extras: {}, updatedAt: now });
      await apk.master.close();
      if (apk.sha256 !== record.sha256) {
        result.skipped.push({ channel: id, reason: `the task stored other bytes (another master, format or extras) than app ${app.name} would serve` });
        continue;
      }
      result.imported.push(id);
    }
    if (result.imported.length > 0) await this.registry.putChannels(app.name, result.imported.map((id) => ({ id, extras: {} })));
    return result;
  }

  private async checkFits(masterUrl: string, format: PackFormat, hasExtras: boolean): Promise<void> {
    const master = await this.apks.analyse(masterUrl);
    checkFormatFits(master.layout, format, hasExtras);
  }
}
