export { FRAMEWORK_RES, makeTempDir, removeDir, run } from './tools';
export { apksignerVerify, buildUnsignedApk, signApk, squarePng, withZipComment, type VerifyResult } from './apk-fixtures';
export {
  CHINESE_LABEL,
  CHINESE_ICON_ENTRY,
  CHINESE_ICON_SIZES,
  CHINESE_LABEL_EN,
  CHINESE_VERSION_NAME,
  fixtureCacheDir,
  fixtureKeys,
  frameworkResApk,
  largeApk,
  standardApk,
  standardApks,
  unsignedApk,
  type StandardApks,
} from './standard-apks';
export { freePort, startMoto, type MotoServer } from './moto';
export { FakeOss } from './fake-oss';
export { createVhost, deleteVhost, type Vhost } from './broker';
export {
  EngineNode,
  RabbitCluster,
  RedisSentinelSet,
  type RabbitClusterOptions,
  type RedisSentinelOptions,
} from './ha-engines';
