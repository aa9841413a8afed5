// Every variable a service reads is documented in the README, where operators look up its meaning and default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serviceNames } from './repo';
import { serviceVariables } from './service-config';

test('the README documents every variable each service reads', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const undocumented = new Set<string>();
  for (const name of serviceNames()) {
    for (const v of serviceVariables(name)) {
      // A family is documented by its prefix, e.g. `SUBPACK_NOTIFY_SECRET_<name>`.
      if (!readme.includes(v.prefix ? `\`${v.env}` : `\`${v.env}\``)) undocumented.add(`${v.env}${v.prefix ? '*' : ''} (${name})`);
    }
  }
  assert.deepEqual([...undocumented], []);
});

test('every service prints what it reads, including the variables all services share', () => {
  for (const name of serviceNames()) {
    const names = serviceVariables(name).map((v) => v.env);
    for (const shared of ['AMQP_URL', 'REDIS_URL', 'HTTP_PORT', 'LOG_LEVEL']) assert.ok(names.includes(shared), `${name} reads ${shared}`);
  }
});
