export { MasterError, type MasterErrorCode } from './errors';
export { inspectMaster, type MasterFacts } from './inspect';
export { MasterRegistry, type FinishedUpload, type MasterRegistryOptions, type UploadedFiles } from './registry';
export {
  CONCRETE_FORMATS,
  ExistingChannelSchema,
  FormatFitSchema,
  MasterListQuerySchema,
  MasterPageSchema,
  MasterSchema,
  RegisterMasterSchema,
  SigningPairSchema,
  type FormatFit,
  type MasterPage,
  type MasterRecord,
} from './schemas';
export { MasterUploads, type MasterUploadsOptions, type UploadRoot } from './uploads';
