export { acceptTask, planBatch, type PackerDeps } from './packer-steps';
export { storeChannel, type StoreOutcome, type UploaderDeps } from './uploader-steps';
export { CANCEL_DRAIN_MS, cancelTask, type CancelDeps, type CancelOptions } from './cancel';
export { accountParked } from './parked';
export { announceRetry } from './retries';
export { parseServiceRoots, ROOTS_CONFIG, STORAGE_CONFIG } from './roots';
export { sweepStalls } from './stalls';
export { prepareParkedReplay, resendNote, retryTask } from './task-retry';
