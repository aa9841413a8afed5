import type { Redis } from 'ioredis';
import { auditRecordMessageId } from '@subpack/contracts';
import type { AuditEntry } from './http/router';
import { decodeCursor, encodeCursor } from './ids';
import { problem } from './http/problem';

/** How many audit records Redis keeps; older ones remain only in the broker's audit tap (or its consumers) and the logs. */
export const AUDIT_KEEP = 100_000;

/** An audit entry as stored and published: numbered in the order the API recorded it (the AuditRecord message). */
export type NumberedAuditEntry = AuditEntry & { seq: number };

/** The audit trail of every write: kept in Redis for /audit, and handed to `publish` for the broker (audit.recorded). */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Gets each record once it is in Redis, with its message id (the same for any copy of the record). */
    private readonly publish: (record: NumberedAuditEntry, messageId: string) => Promise<void>,
  ) {}

  private key(): string {
    return `${this.prefix}api:audit`;
  }

  private seqKey(): string {
    return `${this.prefix}api:audit:seq`;
  }

  /** Stores the entry first, so a failed publish (the caller logs it) still leaves it listed by /audit. */
  async record(entry: AuditEntry): Promise<void> {
    const seq = await this.redis.incr(this.seqKey());
    const record: NumberedAuditEntry = { seq, ...entry };
    await this.redis.multi().zadd(this.key(), seq, JSON.stringify(record)).zremrangebyrank(this.key(), 0, -AUDIT_KEEP - 1).exec();
    await this.publish(record, auditRecordMessageId(record));
  }

  /** Newest first; the cursor is the sequence number of the last record seen. */
  async list(page: { cursor?: string | undefined; limit: number }): Promise<{ items: NumberedAuditEntry[]; nextCursor: string | null }> {
    const after = decodeCursor(page.cursor);
    if (page.cursor !== undefined && after === undefined) throw problem('INVALID_INPUT', 'cursor: not a cursor this API gave out');
    const max = after === undefined ? '+inf' : `(${after.score}`;
    const raw = await this.redis.zrevrangebyscore(this.key(), max, '-inf', 'LIMIT', 0, page.limit + 1);
    const items = raw.slice(0, page.limit).map((r) => JSON.parse(r) as NumberedAuditEntry);
    const last = items[items.length - 1];
    return { items, nextCursor: raw.length > page.limit && last ? encodeCursor(last.seq, '') : null };
  }
}
