import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { DiagnosticSeverity, fromFile, Parser, type AsyncAPIDocumentInterface, type Diagnostic } from '@asyncapi/parser';
import { schemaId, SCHEMA_NAMES, type SchemaName } from './schemas/catalog';
import { EVENT_TYPES } from './schemas/events';
import { TOPOLOGY } from './topology/build-topology';
import { eventRoutingKey, EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import { validateFailureHeaders, VALIDATORS_BY_SCHEMA } from './validation/validators';

const CONTRACTS_DIR = resolve(__dirname, '..');
const ASYNCAPI_FILE = join(CONTRACTS_DIR, 'asyncapi.yaml');

async function parseFile(file: string): Promise<{ document: AsyncAPIDocumentInterface | undefined; errors: string[] }> {
  const { document, diagnostics } = await fromFile(new Parser(), file).parse();
  return { document, errors: diagnostics.filter(isError).map(describeDiagnostic) };
}

function isError(diagnostic: Diagnostic): boolean {
  // The parser's Diagnostic and its re-exported DiagnosticSeverity come from different copies of the enum.
  return Number(diagnostic.severity) === Number(DiagnosticSeverity.Error);
}

function describeDiagnostic(diagnostic: Diagnostic): string {
  return `${diagnostic.path.join('.')}: ${diagnostic.message} (${String(diagnostic.code)})`;
}

function schemaNameOf(id: unknown): SchemaName {
  const name = SCHEMA_NAMES.find((candidate) => schemaId(candidate) === id);
  assert.ok(name !== undefined, `no catalogued schema has $id ${String(id)}`);
  return name;
}

type Json = Record<string, unknown>;

function field(value: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Json)[key] : undefined), value);
}

function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.name.localeCompare(b.name));
}

describe('asyncapi.yaml', () => {
  let document: AsyncAPIDocumentInterface;

  before(async () => {
    const parsed = await parseFile(ASYNCAPI_FILE);
    assert.deepEqual(parsed.errors, [], 'asyncapi.yaml has validation errors');
    assert.ok(parsed.document !== undefined);
    document = parsed.document;
  });

  it('is a valid AsyncAPI 3 document with no error diagnostics', () => {
    assert.equal(document.version(), '3.0.0');
    assert.ok(document.channels().length > 0);
    assert.ok(document.operations().length > 0);
  });

  it('has examples for every message, and each validates against the referenced schema', () => {
    const seen = new Set<SchemaName>();
    for (const message of document.messages()) {
      const payloadSchema = schemaNameOf(field(message.payload()?.json(), '$id'));
      seen.add(payloadSchema);
      const examples = message.examples().all();
      assert.ok(examples.length > 0, `message ${message.id()} has no example`);
      for (const example of examples) {
        const where = `example ${String(example.name())} of message ${message.id()}`;
        const payload = VALIDATORS_BY_SCHEMA[payloadSchema](example.payload());
        assert.deepEqual(payload.ok ? [] : payload.errors, [], `${where}: payload does not match ${payloadSchema}`);
        if (example.hasHeaders()) {
          assert.equal(schemaNameOf(field(message.headers()?.json(), '$id')), 'failure-headers', `${where}: headers schema`);
          const headers = validateFailureHeaders(example.headers());
          assert.deepEqual(headers.ok ? [] : headers.errors, [], `${where}: headers`);
        }
      }
    }
    const buildingBlocks: SchemaName[] = ['channel', 'notify-subscription', 'failure-headers'];
    const messageSchemas = SCHEMA_NAMES.filter((name) => !buildingBlocks.includes(name));
    assert.deepEqual([...seen].sort(), messageSchemas.sort(), 'every message schema is used by a message');
  });

  it('documents exactly the queues, arguments and bindings of TOPOLOGY', () => {
    const channels = Object.values(field(document.json(), 'channels') as Record<string, Json>);
    const documented = channels
      .map((channel) => ({ address: channel.address, amqp: field(channel, 'bindings', 'amqp') as Json }))
      .filter(({ amqp }) => amqp.is === 'queue')
      .map(({ address, amqp }) => {
        assert.equal(address, field(amqp, 'queue', 'name'), 'a queue channel\'s address is the queue name');
        return { name: String(field(amqp, 'queue', 'name')), arguments: amqp['x-queue-arguments'], bindings: amqp['x-bindings'] };
      });
    const expected = TOPOLOGY.queues.map(({ name, arguments: args, bindings }) => ({ name, arguments: args, bindings }));
    assert.deepEqual(byName(documented), byName(expected));
  });

  it('documents the exchanges of TOPOLOGY and a channel for every routing key', () => {
    const channels = Object.values(field(document.json(), 'channels') as Record<string, Json>);
    const routed = channels.filter((channel) => field(channel, 'bindings', 'amqp', 'is') === 'routingKey');
    const exchanges = new Map<string, unknown>();
    for (const channel of routed) {
      const { name, type, durable, autoDelete } = field(channel, 'bindings', 'amqp', 'exchange') as Json;
      exchanges.set(String(name), { name, type, durable, autoDelete });
    }
    assert.deepEqual(byName([...exchanges.values()] as { name: string }[]), byName([...TOPOLOGY.exchanges]));

    const mainAddresses = routed
      .filter((channel) => field(channel, 'bindings', 'amqp', 'exchange', 'name') === EXCHANGES.main)
      .map((channel) => channel.address);
    const expectedKeys = [
      ROUTING_KEYS.packTask,
      ROUTING_KEYS.packBatch,
      ROUTING_KEYS.channelStore,
      ROUTING_KEYS.notifyDelivery,
      ROUTING_KEYS.auditRecorded,
      ...EVENT_TYPES.map(eventRoutingKey),
      'queue.{queue}',
    ];
    assert.deepEqual([...mainAddresses].sort(), [...expectedKeys].sort());

    const workQueues = TOPOLOGY.queues.filter((queue) => queue.role === 'work').map((queue) => queue.name);
    // Audit records are not events: a binding to event.# (the notifier's, the event tap's) must not receive them.
    assert.ok(!ROUTING_KEYS.auditRecorded.startsWith(eventRoutingKey('')), ROUTING_KEYS.auditRecorded);

    const parameterEnum = field(document.json(), 'components', 'parameters', 'workQueue', 'enum');
    assert.deepEqual(parameterEnum, workQueues);
  });

  it('has send and receive operations for every service', () => {
    const actionsByService = new Map<string, Set<string>>();
    for (const operation of document.operations()) {
      for (const tag of operation.tags()) {
        const actions = actionsByService.get(tag.name()) ?? new Set<string>();
        actions.add(operation.action());
        actionsByService.set(tag.name(), actions);
      }
    }
    for (const service of ['packer', 'uploader', 'retry-scheduler', 'notifier']) {
      assert.deepEqual([...(actionsByService.get(service) ?? [])].sort(), ['receive', 'send'], service);
    }
    assert.deepEqual([...(actionsByService.get('publisher') ?? [])], ['send']);
    assert.ok(actionsByService.get('api')?.has('send'), 'api sends its audit records');
  });
});

describe('asyncapi validation harness', () => {
  it('reports errors for a broken document (so a passing run means something)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'contracts-asyncapi-'));
    try {
      cpSync(join(CONTRACTS_DIR, 'schemas'), join(dir, 'schemas'), { recursive: true });
      const broken = readFileSync(ASYNCAPI_FILE, 'utf8')
        .replace('action: receive', 'action: consume')
        .replace("./schemas/pack-batch.schema.json'", "./schemas/missing.schema.json'");
      writeFileSync(join(dir, 'asyncapi.yaml'), broken);
      const { errors } = await parseFile(join(dir, 'asyncapi.yaml'));
      assert.ok(errors.some((error) => error.includes('"action" property must be equal to one of')), errors.join('\n'));
      assert.ok(errors.some((error) => error.includes('missing.schema.json')), errors.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
