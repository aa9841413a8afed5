export { apiService } from './api-service';
export { API_CONFIG, type ApiConfig } from './api-config';
export { ProblemSchema, openApiDocument } from './http/openapi';
export { API_PREFIX } from './http/router';
export { csvField, EXPORT_COLUMNS } from './export';
export { Users, type User } from './accounts';
