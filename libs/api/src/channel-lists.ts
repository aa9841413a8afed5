import type { Static } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import { validateChannel, type Channel } from '@subpack/contracts';
import { checkChannelList } from '@subpack/pack';
import { MAX_CHANNELS } from '@subpack/rules';
import { problem } from './http/problem';
import { newId } from './ids';
import { newestFirst } from './newest-first';
import type { ChannelListInputSchema, ChannelListSchema, ChannelListSummarySchema } from './schemas';

export type ChannelList = Static<typeof ChannelListSchema>;
export type ChannelListSummary = Static<typeof ChannelListSummarySchema>;
export type ChannelListInput = Static<typeof ChannelListInputSchema>;

/** One problem of a submitted list: a line of the text, or an item of the JSON array. */
export interface ListProblem {
  line?: number;
  index?: number;
  message: string;
}

/**
 * Named channel lists with per-channel extras, kept in Redis. Every channel is checked by the same rules as a task's
 * (channelIdProblem, extrasProblems via the contracts), and every problem is reported, each with its line or index.
 */
export class ChannelLists {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly maxChannels: number = MAX_CHANNELS,
  ) {}

  private indexKey(): string {
    return `${this.prefix}api:lists`;
  }

  private key(id: string): string {
    return `${this.prefix}api:list:${id}`;
  }

  /** The channels of an input, or a problem listing everything wrong with it. */
  parse(input: ChannelListInput): Channel[] {
    if ((input.text === undefined) === (input.channels === undefined)) throw problem('INVALID_INPUT', 'give either text (a channels file) or channels (a JSON array), not both or neither');
    const problems: ListProblem[] = [];
    let channels: Channel[] = [];
    if (input.text !== undefined) {
      const checked = checkChannelList(input.text, 'list');
      channels = checked.channels.map((c) => (c.extras && Object.keys(c.extras).length > 0 ? { id: c.id, extras: c.extras } : { id: c.id }));
      problems.push(...checked.problems);
    } else {
      const seen = new Map<string, number>();
      (input.channels ?? []).forEach((item, index) => {
        const checked = validateChannel(item);
        if (!checked.ok) {
          problems.push({ index, message: `channels[${index}]: ${checked.errors.join('; ')}` });
          return;
        }
        const earlier = seen.get(checked.value.id);
        if (earlier !== undefined) {
          problems.push({ index, message: `channels[${index}]: channel ${JSON.stringify(checked.value.id)} is listed more than once (first at ${earlier})` });
          return;
        }
        seen.set(checked.value.id, index);
        channels.push(checked.value);
      });
    }
    if (channels.length + problems.length === 0) problems.push({ message: 'the list has no channels' });
    if (channels.length > this.maxChannels) problems.push({ message: `the list has ${channels.length} channels; a task takes at most ${this.maxChannels}` });
    if (problems.length > 0) {
      const shown = problems.slice(0, 3).map((p) => p.message);
      const more = problems.length > 3 ? ` (and ${problems.length - 3} more problems)` : '';
      throw problem('INVALID_INPUT', `${shown.join('; ')}${more}`, { errors: problems });
    }
    return channels;
  }

  async create(input: ChannelListInput, by: string): Promise<ChannelList> {
    const channels = this.parse(input);
    const now = new Date();
    const list: ChannelList = { id: newId('l'), name: input.name, channels, createdBy: by, createdAt: now.toISOString(), updatedAt: now.toISOString() };
    await this.redis.multi().set(this.key(list.id), JSON.stringify(list)).zadd(this.indexKey(), now.getTime(), list.id).exec();
    return list;
  }

  async replace(id: string, input: ChannelListInput): Promise<ChannelList> {
    const existing = await this.get(id);
    const channels = this.parse(input);
    const list: ChannelList = { ...existing, name: input.name, channels, updatedAt: new Date().toISOString() };
    await this.redis.set(this.key(id), JSON.stringify(list), 'XX');
    return list;
  }

  async get(id: string): Promise<ChannelList> {
    const raw = await this.redis.get(this.key(id));
    if (raw === null) throw problem('NOT_FOUND', `no channel list ${JSON.stringify(id)}`);
    return JSON.parse(raw) as ChannelList;
  }

  async delete(id: string): Promise<void> {
    const [[, removed] = [null, 0]] = (await this.redis.multi().del(this.key(id)).zrem(this.indexKey(), id).exec()) ?? [];
    if (removed === 0) throw problem('NOT_FOUND', `no channel list ${JSON.stringify(id)}`);
  }

  async list(page: { cursor?: string | undefined; limit: number }): Promise<{ items: ChannelListSummary[]; nextCursor: string | null }> {
    const { members, nextCursor } = await newestFirst(this.redis, this.indexKey(), page);
    const raws = members.length > 0 ? await this.redis.mget(members.map((m) => this.key(m.member))) : [];
    const items = raws.flatMap((raw): ChannelListSummary[] => {
      if (raw === null) return [];
      const l = JSON.parse(raw) as ChannelList;
      return [{ id: l.id, name: l.name, count: l.channels.length, createdBy: l.createdBy, createdAt: l.createdAt, updatedAt: l.updatedAt }];
    });
    return { items, nextCursor };
  }
}
