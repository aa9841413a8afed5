export { createLogger, type Logger } from './logger';
export { LOGGER, runService, type ServiceContext, type ServiceDefinition } from './service-host';
export { openRedis, redisReplicas } from './connections';
export { QuietNotFoundModule } from './quiet-not-found';
export { contentDisposition } from './http/content-disposition';
export { contentRange, httpDate, ifRangeMatches, noneMatch, parseRange, type RangeRequest } from './http/http-range';
