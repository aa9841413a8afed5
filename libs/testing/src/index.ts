export * from './tools';
export * from './apk-fixtures';
export * from './standard-apks';
export * from './moto';
export * from './fake-oss';
export * from './broker';
export * from './ha-engines';
