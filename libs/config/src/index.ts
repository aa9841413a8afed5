export {
  bool,
  ConfigError,
  describeConfig,
  int,
  loadConfig,
  optionalStr,
  parseDuration,
  positive,
  str,
  url,
  type ConfigOf,
  type Field,
} from './fields';
export { COMMON_CONFIG, type CommonConfig, type LogLevel } from './common';
export { describeRedisTarget, REDIS_CONFIG, redisTarget, type RedisTarget } from './redis';
export { urlWithoutCredentials } from './display-url';
