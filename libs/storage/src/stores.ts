import { storeIdentity, storeSettings, type ObjectScheme } from './config';
import type { ObjectStore } from './object-store';
import { OssStore } from './oss-store';
import { S3Store } from './s3-store';

const stores = new Map<string, ObjectStore>();

/** The client for the store holding `bucket`; one per store per process, so connections and byte counts are shared. */
export function objectStoreFor(scheme: ObjectScheme, bucket: string, key: string): ObjectStore {
  const settings = storeSettings(scheme, bucket, key);
  const id = `${storeIdentity(settings)}|${JSON.stringify(settings)}`;
  let store = stores.get(id);
  if (!store) {
    store = scheme === 's3' ? new S3Store(settings) : new OssStore(settings);
    stores.set(id, store);
  }
  return store;
}

/** Every object-store client made so far, for totals such as bytes sent. */
export function objectStores(): ObjectStore[] {
  return [...stores.values()];
}

