export { PackInputError } from './errors';
export {
  checkChannelList,
  idsWithSpaces,
  parseChannelArguments,
  parseChannelList,
  parseChannelOption,
  parseExtra,
  validateChannels,
  type ChannelLineProblem,
  type ChannelSpec,
} from './channels';
export { checkNameTemplate } from './naming';
export { inspectApk, loadMaster, type Inspection, type MasterInfo } from './master';
export { MasterCache, type CachedMaster } from './master-cache';
export {
  manifestNameValues,
  packChannels,
  planNamedChannel,
  preparePack,
  writeChannel,
  type NamedChannel,
  type PackedChannel,
  type PackRecipe,
} from './pack-channels';
