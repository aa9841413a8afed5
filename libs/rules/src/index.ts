export { forbiddenBmpClass, quoted } from './text';
export { CHANNEL_ID_MAX_BYTES, channelIdProblem, MAX_CHANNELS } from './channel-id';
export {
  EXTRA_KEY_MAX_BYTES,
  EXTRAS_MAX_BYTES,
  EXTRAS_MAX_KEYS,
  extrasProblems,
  mergeExtras,
  RESERVED_EXTRA_KEYS,
  type Extras,
} from './extras';
export {
  DEFAULT_NAMING,
  DISTINGUISHING_PLACEHOLDERS,
  FILE_NAME_MAX_BYTES,
  FILE_NAME_SEGMENT_MAX_BYTES,
  fileNameLengthProblem,
  fileNameProblem,
  NAMING_PLACEHOLDERS,
  NAMING_TEMPLATE_MAX_BYTES,
  namingTemplateProblems,
  PLACEHOLDER_LIST,
  renderFileName,
  SHORTEST_APK_VALUES,
  templateNeedsDigests,
  withDigestStandIns,
  type NamingValues,
} from './naming';
export { DEFAULT_PACK_FORMAT, isPackFormat, PACK_FORMATS, type PackFormat } from './formats';
export { TASK_ID_MAX_LENGTH, TASK_ID_PATTERN, TASK_ID_RULE, taskIdProblem } from './task-id';
export {
  eventRoutingKey,
  EXCHANGES,
  queueRoutingKey,
  QUEUES,
  retryQueueName,
  ROUTING_KEYS,
  signedQueues,
  TOPOLOGY_NAME_PART,
  topologyNames,
  type TopologyNames,
} from './topology';
export { appNameProblem } from './serve-app';
export { BAD_INPUT, BadInputError, isBadInput, type MaybeBadInput } from './errors';
export { isProblemCode, PROBLEM_CODES, PROBLEMS, type ProblemCode } from './problems';
export { API_ROLES, type ApiRole } from './roles';
