export { AppRegistry, checkAppName, RegistryInputError, type ServedApp, type ServedChannel } from './app-registry';
export { ServeAdmin, UnknownAppError } from './serve-admin';
export { SERVE_CONFIG, serveMasterRoots } from './serve-config';
export { SERVE_SERVICE } from './serve-service';
export { signedQuery } from './signed-url';
