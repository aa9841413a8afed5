export { ApkError } from './errors';
export { readApkLayout, readApkLayoutForInspection, type ApkLayout } from './apk-layout';
export type { ByteSource } from './zip/byte-source';
export { readEntry } from './zip/entries';
export { pairHexId, pairName } from './signing/pairs';
export { checkFormatFits, planChannel, prefixLengthFor, type ChannelPlan } from './channels/plan';
export { readChannels, type FoundChannel } from './channels/read';
export { PrefixDigests, type Digests } from './digests';
export { readManifest, type ManifestInfo } from './manifest';
