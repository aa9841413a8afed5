import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { apksignerVerify } from '@subpack/testing';
import { inspectChannels } from './cli';
import { mapLimit } from './wait';

export interface StoredApk {
  file: string;
  bytes: number;
}

/** Every entry of the target directory (not only .apk files: leftovers must be visible to the test). */
export async function listTarget(dir: string): Promise<StoredApk[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => ({ file: join(dir, name), bytes: (await stat(join(dir, name))).size })));
}

/**
 * Checks each APK with `apksigner verify` and reads its channel with `subpack inspect --json`. Returns the problems
 * found (empty when all are fine), so one assertion can show every bad file at once.
 */
export async function checkChannelApks(expected: ReadonlyMap<string, string>, concurrency = 4): Promise<string[]> {
  const problems = await mapLimit([...expected], concurrency, async ([file, channel]): Promise<string[]> => {
    const found: string[] = [];
    try {
      await apksignerVerify(file);
    } catch (err) {
      found.push(`${file}: ${(err as Error).message.split('\n').slice(0, 4).join(' ')}`);
    }
    try {
      const channels = await inspectChannels(file);
      if (channels.length === 0) found.push(`${file}: no channel found by subpack inspect`);
      const wrong = channels.filter((c) => c.channel !== channel);
      if (wrong.length > 0) found.push(`${file}: expected channel ${channel}, inspect read ${JSON.stringify(channels)}`);
    } catch (err) {
      found.push(`${file}: ${(err as Error).message}`);
    }
    return found;
  });
  return problems.flat();
}
