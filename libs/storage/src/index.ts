export { locationUrl, parseServableUrl, parseStorageUrl, StorageUrlError } from './storage-url';
export { MasterUnavailableError, StorageError, storageError } from './errors';
export { parseProfiles, STORAGE_CONFIG, StorageConfigError, storeSettings, type StoreSettings } from './config';
export { objectStores } from './stores';
export { FileMaster, openLocalFile, openMaster, type MasterSource } from './master-source';
export {
  channelStoreRequest,
  type ChannelTarget,
  type StoredObject,
  type StoreMethod,
  type StoreRequest,
  type TargetOptions,
} from './target';
export { openTarget, targetRoot } from './open-target';
export { S3Store } from './s3-store';
export { OutsideRootsError, ROOTS_CONFIG, StorageRoots } from './roots';
export { MAX_PRESIGN_SECONDS, presignedGet, type PresignOptions } from './presign';
export { s3ClientConfig } from './s3-store';
