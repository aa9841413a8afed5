export { createLogger, type Logger } from './logger';
export { LOGGER, runService, type ServiceContext, type ServiceDefinition } from './service-host';
export { openRedis, redisReplicas } from './connections';
export { QuietNotFoundModule } from './quiet-not-found';
