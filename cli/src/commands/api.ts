import { parseArgs } from 'node:util';
import { apiService } from '@subpack/api';
import { runService } from '@subpack/runtime';
import { lifetime } from '../lifetime';

/** `subpack api` runs the HTTP API in this process (as the deployable does); `subpack api user …` edits its users. */
export async function apiCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'user') return (await import('./api-user.js')).apiUserCommand(argv);
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string', short: 'p' } } });
  // The API reads its settings from the environment like the deployable; the flag is a shortcut for HTTP_PORT.
  if (values.port !== undefined) process.env.HTTP_PORT = values.port;
  lifetime.serving = true;
  await runService(apiService());
  return 0;
}
