import type { ServiceDefinition } from '@subpack/runtime';
import { API_CONFIG, apiConfigProblems } from './api-config';
import { ApiModule, buildApi, type ApiParts } from './api.module';

/**
 * The API as runService starts it: the deployable and `subpack api` run this same definition. Each call gives a fresh
 * definition, since the parts it builds belong to one running service.
 */
export function apiService(): ServiceDefinition<typeof API_CONFIG> {
  let parts: ApiParts | undefined;
  return {
    name: 'api',
    config: API_CONFIG,
    bodyParser: false,
    check: apiConfigProblems,
    module: (ctx) => {
      parts = buildApi(ctx);
      return ApiModule.forParts(parts);
    },
    prefetch: () => ({}),
    afterStart: async () => {
      await parts?.start();
      return async () => {
        await parts?.close();
      };
    },
  };
}
