import { parseArgs } from 'node:util';
import { escapeUnsafe } from '@subpack/contracts';
import { ParkingLot } from '@subpack/messaging';
import { prepareParkedReplay } from '@subpack/workflow';
import { UsageError } from '../usage';
import { BROKER_TIMEOUT_OPTION, brokerTimeoutMs, withBroker, withStore } from './broker';

export async function parkedCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      json: { type: 'boolean', default: false },
      limit: { type: 'string', default: '100' },
      all: { type: 'boolean', default: false },
      id: { type: 'string', multiple: true, default: [] },
      ...BROKER_TIMEOUT_OPTION,
    },
  });
  if (sub === 'list') {
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
    const parked = await withBroker(brokerTimeoutMs(values), (b) => b.within('list the parked messages', new ParkingLot(b.manager).listParked(limit)), { readOnly: true });
    for (const p of parked) {
      const row = { id: p.id, reason: p.reason, attempt: p.attempt, originQueue: p.originQueue, routingKey: p.originRoutingKey, parkedAt: p.parkedAt, body: p.body.toString('utf8').slice(0, 2000) };
      process.stdout.write(values.json ? `${JSON.stringify(row)}\n` : `${p.id}  [${p.originRoutingKey ?? '?'} attempt ${p.attempt}] ${p.reason}\n`);
    }
    if (!values.json) process.stderr.write(`${parked.length} parked message(s)\n`);
    return 0;
  }
  if (sub === 'replay') {
    if (!values.all && values.id.length === 0) throw new UsageError('parked replay needs --all or --id <messageId>');
    const ms = brokerTimeoutMs(values);
    // A parked task.pack of a finished task is sent back only when its task may run again from it (see the workflow).
    const result = await withStore(ms, (store) =>
      withBroker(ms, (b) =>
        b.within(
          'replay the parked messages',
          new ParkingLot(b.manager).replayParked(values.all ? { all: true } : { ids: values.id }, {
            gate: (m) => prepareParkedReplay(store, { routingKey: m.originRoutingKey, body: m.body }),
          }),
        ),
      ),
    );
    const found = new Set([...result.replayed, ...result.skipped.map((s) => s.id)]);
    const missing = values.all ? [] : values.id.filter((id) => !found.has(id));
    process.stdout.write(values.json ? `${JSON.stringify({ ...result, missing })}\n` : `replayed ${result.replayed.length}, skipped ${result.skipped.length}\n`);
    for (const s of result.skipped) process.stderr.write(`skipped ${escapeUnsafe(s.id)}: ${escapeUnsafe(s.reason)}\n`);
    for (const id of missing) process.stderr.write(`subpack: no parked message with id ${escapeUnsafe(JSON.stringify(id))} (see subpack parked list)\n`);
    // Anything asked for and not sent back is a failure the caller must see.
    return result.skipped.length > 0 || missing.length > 0 ? 1 : 0;
  }
  throw new UsageError('usage: subpack parked list [--json] [--limit N] | parked replay --all | --id <messageId>...');
}
