/** IDs of the APK Signing Block pairs this project reads or writes. */
export const PAIR_IDS = {
  v2: 0x7109871a,
  v3: 0xf05368c0,
  v31: 0x1b93ad61,
  sourceStampV1: 0x2b09189e,
  sourceStampV2: 0x6dff800d,
  verityPadding: 0x42726577,
  dependencyInfo: 0x504b4453,
  walle: 0x71777777,
  vasdolly: 0x881155ff,
  packerNg: 0x7a786b21,
} as const;
export type PairKey = keyof typeof PAIR_IDS;

const PAIR_NAMES: Readonly<Record<PairKey, string>> = {
  v2: 'v2 signature',
  v3: 'v3 signature',
  v31: 'v3.1 signature',
  sourceStampV1: 'source stamp v1',
  sourceStampV2: 'source stamp v2',
  verityPadding: 'verity padding',
  dependencyInfo: 'dependency info',
  walle: 'Walle channel',
  vasdolly: 'VasDolly channel',
  packerNg: 'packer-ng channel',
};

const NAME_BY_ID = new Map<number, string>(Object.entries(PAIR_IDS).map(([key, id]) => [id, PAIR_NAMES[key as PairKey]]));

/** What a pair holds, for people reading `subpack inspect`; "unknown" for ids this project does not know. */
export function pairName(id: number): string {
  return NAME_BY_ID.get(id) ?? 'unknown';
}

export function pairHexId(id: number): string {
  return `0x${id.toString(16).padStart(8, '0')}`;
}
