import { prefixLengthFor, type ChannelFormat } from '@subpack/apk';
import type { MasterInfo } from '@subpack/pack';

/** The format whose prefix a job used, so the uploader hashes the same prefix as the packer (and shares its cache). */
export function formatOfPrefix(master: MasterInfo, prefixLength: number): ChannelFormat {
  for (const f of ['auto', 'v1-comment', 'meta-inf'] as const) {
    try {
      if (prefixLengthFor(master.layout, f) === prefixLength) return f;
    } catch {
      // this format does not apply to the master
    }
  }
  return 'auto';
}
