import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QUEUES, signedQueues } from '@subpack/rules';
import type { AmqpConnectionManager } from './connection-manager';
import { TransientError } from './errors';
import { HEADERS } from './names';
import { RetryScheduler } from './retry-scheduler';
import { FORGED_REASON, MessageSigner, SIGNATURE_HEADER } from './signing';
import { buildTestTopology, createTestManager, deleteTestTopology, delay, drainQueue, Inbox, withRawChannel } from './test-support/broker';

const KEY = 'current-internal-key-0123456789abcdef';
const OLD_KEY = 'previous-internal-key-0123456789abcdef';

describe('MessageSigner', () => {
  const body = Buffer.from('{"taskId":"t1"}');
  it('binds the body and the routing key; accepts the previous key, refuses others and unsigned headers', () => {
    const signer = new MessageSigner(KEY, OLD_KEY);
    const signed = { [SIGNATURE_HEADER]: signer.sign('pack.batch', body) };
    assert.equal(signer.verify('pack.batch', body, signed), true);
    assert.equal(signer.verify('channel.store', body, signed), false, 'another routing key');
    assert.equal(signer.verify('pack.batch', Buffer.from('{"taskId":"t2"}'), signed), false, 'another body');
    assert.equal(signer.verify('pack.batch', body, {}), false, 'no signature');
    assert.equal(signer.verify('pack.batch', body, { [SIGNATURE_HEADER]: 'AAAA' }), false, 'garbage');
    const old = { [SIGNATURE_HEADER]: new MessageSigner(OLD_KEY).sign('pack.batch', body) };
    assert.equal(signer.verify('pack.batch', body, old), true, 'the previous key during a rotation');
    assert.equal(new MessageSigner(KEY).verify('pack.batch', body, old), false, 'not once the rotation is over');
    assert.equal(signer.verify('pack.batch', body, { [SIGNATURE_HEADER]: new MessageSigner('someone-else-key-0123456789abcdef').sign('pack.batch', body) }), false);
  });
});

describe('the signature as libs/contracts/README.md documents it', () => {
  const readme = readFileSync(join(resolve(__dirname, '..', '..', '..'), 'libs', 'contracts', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Signed internal messages (`x-subpack-signature`)'));

  it('its Python snippet computes the header the services send', () => {
    assert.ok(section.length < readme.length, 'the README has the section');
    const snippet = /```python\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(snippet, 'the section has a Python snippet');
    const cases = [
      { routingKey: 'channel.store', body: '{"taskId":"t1","channel":"huawei","batchIndex":0}' },
      { routingKey: 'notify.delivery', body: '{"taskId":"签名 ✓","events":[]}' },
    ];
    const program = `${snippet}
import json, sys
cases = json.load(sys.stdin)
print(json.dumps([subpack_signature(c["key"], c["routingKey"], c["body"].encode("utf-8")) for c in cases]))
`;
    const output = execFileSync('python3', ['-c', program], { input: JSON.stringify(cases.map((c) => ({ ...c, key: KEY }))), encoding: 'utf8' });
    const signer = new MessageSigner(KEY);
    assert.deepEqual(JSON.parse(output), cases.map((c) => signer.sign(c.routingKey, Buffer.from(c.body, 'utf8'))));
  });

  it('its table names exactly the queues that check signatures, each with its routing key', () => {
    const checked = [...section.matchAll(/^\| `([^`]+)` \| [^|]+ \| [^|]*on `([^`]+)` \|$/gm)].map((m) => [m[2], m[1]]);
    assert.deepEqual(Object.fromEntries(checked), signedQueues(QUEUES));
    for (const key of ['SUBPACK_INTERNAL_KEY', 'SUBPACK_INTERNAL_KEY_PREVIOUS', SIGNATURE_HEADER, FORGED_REASON]) assert.ok(section.includes(key), `the section names ${key}`);
  });
});

describe('internal queues on a real broker', () => {
  const tiers = [{ name: '1s', ttlMs: 1000 }];
  const topology = buildTestTopology([{ name: 'batches', routingKeys: ['pack.batch'] }, { name: 'open', routingKeys: ['task.pack'] }], tiers);
  const { exchange } = topology.names;
  const signing = (key: string, previous?: string) => ({ signer: new MessageSigner(key, previous), signedQueues: { [topology.queue('batches')]: 'pack.batch' } });
  let service: AmqpConnectionManager;
  let forger: AmqpConnectionManager;
  let outgoing: AmqpConnectionManager;
  const parkedHook: string[] = [];
  const inbox = new Inbox((message) => {
    if (message.json() && (message.json() as { fail?: boolean }).fail === true && message.attempt === 1) throw new TransientError('try again');
  });
  const open = new Inbox();

  before(async () => {
    service = createTestManager(topology, { signing: signing(KEY, OLD_KEY) });
    forger = createTestManager(topology);
    outgoing = createTestManager(topology, { signing: signing(OLD_KEY) });
    await Promise.all([service.connect(), forger.connect(), outgoing.connect()]);
    await new RetryScheduler(service, { policy: { tiers, maxAttempts: 3 }, onParked: (_m, reason) => void parkedHook.push(reason) }).start();
    await service.consume(topology.queue('batches'), inbox.handler);
    await service.consume(topology.queue('open'), open.handler);
  });
  after(async () => {
    await Promise.all([service.close(), forger.close(), outgoing.close()]);
    await deleteTestTopology(topology);
  });

  it('a signed message is handled, also after a retry through a tier; an unsigned one is parked as forged unseen', async () => {
    await service.publisher.publish(exchange, 'pack.batch', { id: 'signed', fail: true });
    await forger.publisher.publish(exchange, 'pack.batch', { id: 'unsigned' });
    // Signed under another routing key, then sent to the batch queue: a channel.store job replayed as a batch.
    const body = Buffer.from(JSON.stringify({ id: 'replayed' }));
    await forger.publisher.publishRaw(exchange, 'pack.batch', body, { headers: { [SIGNATURE_HEADER]: new MessageSigner(KEY).sign('channel.store', body) } });
    // Straight to the queue's own retry route, with failure headers claiming an earlier attempt.
    await forger.publisher.publish(exchange, `queue.${topology.queue('batches')}`, { id: 'retry-route' }, { headers: { [HEADERS.attempt]: 1, [HEADERS.originRoutingKey]: 'task.pack' } });
    await inbox.waitFor(2, 10_000);
    const parked = await drainQueue(topology.names.parkedQueue, 3);
    await delay(300);
    assert.deepEqual(inbox.messages.map((m) => (m.json() as { id: string }).id), ['signed', 'signed'], 'only the signed message reached the handler (twice: failed once, then retried)');
    assert.deepEqual(parked.map((m) => JSON.parse(m.content.toString()) as { id: string }).map((b) => b.id).sort(), ['replayed', 'retry-route', 'unsigned']);
    for (const m of parked) {
      assert.equal(String(m.properties.headers?.[HEADERS.error]), FORGED_REASON);
      assert.equal(m.properties.headers?.[HEADERS.errorClass], 'permanent');
    }
    assert.deepEqual(parkedHook, [], 'no parked hook ran');
  });

  it('the retry-scheduler parks a forged dead message claiming an internal queue without running its hook', async () => {
    await forger.publisher.publish(topology.names.deadExchange, 'pack.batch', { id: 'dead-forgery' }, {
      headers: { [HEADERS.attempt]: 5, [HEADERS.errorClass]: 'permanent', [HEADERS.error]: 'task not found', [HEADERS.originQueue]: topology.queue('batches') },
    });
    const parked = await drainQueue(topology.names.parkedQueue, 1);
    assert.equal(parked.length, 1);
    assert.equal(String(parked[0]!.properties.headers?.[HEADERS.error]), FORGED_REASON);
    assert.deepEqual(parkedHook, []);
  });

  it('during a rotation a message signed with the previous key is handled; queues that are not internal take anything', async () => {
    const before = inbox.messages.length;
    await outgoing.publisher.publish(exchange, 'pack.batch', { id: 'old-key' });
    await forger.publisher.publish(exchange, 'task.pack', { id: 'publisher' });
    await inbox.waitFor(before + 1, 10_000);
    await open.waitFor(1, 10_000);
    assert.equal((inbox.messages.at(-1)!.json() as { id: string }).id, 'old-key');
    assert.equal((open.messages[0]!.json() as { id: string }).id, 'publisher');
    assert.equal(await withRawChannel(async (ch) => (await ch.checkQueue(topology.names.parkedQueue)).messageCount), 0);
  });
});
