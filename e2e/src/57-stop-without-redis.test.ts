// A service told to stop while its Redis has stopped answering (frozen, or gone behind a partition, so no connection
// is refused and no command ever fails): it still ends within SUBPACK_DRAIN_TIMEOUT_MS and the stop margin, on its
// own, instead of hanging until the orchestrator kills it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EngineNode, freePort } from '@subpack/testing';
import { E2eStack, type ServiceName } from './harness';

const DRAIN_MS = 3000;
/** The drain, the stop margin of the service host (10 s) and room for a busy machine. */
const STOP_WITHIN_MS = DRAIN_MS + 10_000 + 5000;

let stack: E2eStack;
let redis: EngineNode;

before(async () => {
  stack = await E2eStack.create('stop-without-redis');
  const port = await freePort();
  redis = new EngineNode('redis-frozen', port, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await redis.start();
  await redis.waitListening(10_000);
});

after(async () => {
  redis.signal('SIGCONT');
  await redis.kill();
  await stack.cleanup();
});

for (const name of ['packer', 'list-bridge'] as const satisfies readonly ServiceName[]) {
  test(`${name} stops on SIGTERM while its Redis answers nothing`, { timeout: 120_000 }, async () => {
    redis.signal('SIGCONT');
    const service = await stack.start(name, { REDIS_URL: `redis://127.0.0.1:${redis.port}`, SUBPACK_DRAIN_TIMEOUT_MS: String(DRAIN_MS) });
    redis.signal('SIGSTOP');
    const sent = Date.now();
    const status = await service.stop(STOP_WITHIN_MS + 20_000);
    const tookMs = Date.now() - sent;
    assert.equal(status.signal, null, `${name} had to be killed ${tookMs} ms after SIGTERM\n${service.outputTail()}`);
    assert.ok(tookMs < STOP_WITHIN_MS, `${name} took ${tookMs} ms to stop\n${service.outputTail()}`);
    assert.match(service.outputTail(), new RegExp(`${name} stopped|${name} did not stop within`), service.outputTail());
  });
}
