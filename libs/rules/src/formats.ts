/** Where the channel id is written; "auto" picks from the master (see the README's format table). */
export const PACK_FORMATS = ['auto', 'walle', 'vasdolly', 'v1-comment', 'meta-inf'] as const;
export type PackFormat = (typeof PACK_FORMATS)[number];
export const DEFAULT_PACK_FORMAT: PackFormat = 'auto';

export function isPackFormat(value: string): value is PackFormat {
  return (PACK_FORMATS as readonly string[]).includes(value);
}
