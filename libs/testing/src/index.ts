export * from './tools';
export * from './apk-fixtures';
export * from './standard-apks';
