import type { Redis } from 'ioredis';
import { problem } from './http/problem';
import { decodeCursor, encodeCursor } from './ids';

/**
 * One page of a sorted set read newest first (score = ms since epoch), continuing after `cursor`. Members with the same
 * score are ordered by name, so the cursor is exact.
 */
export async function newestFirst(redis: Redis, key: string, page: { cursor?: string | undefined; limit: number }): Promise<{ members: { member: string; score: number }[]; nextCursor: string | null }> {
  const after = decodeCursor(page.cursor);
  if (page.cursor !== undefined && after === undefined) throw problem('INVALID_INPUT', 'cursor: not a cursor this API gave out');
  const max = after === undefined ? '+inf' : String(after.score);
  // Read one score band more than needed: members sharing the cursor's score are filtered by name below.
  const raw = await redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, page.limit + 50);
  const members: { member: string; score: number }[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const member = raw[i]!;
    const score = Number(raw[i + 1]);
    if (after !== undefined && score === after.score && member >= after.member) continue;
    members.push({ member, score });
  }
  members.sort((a, b) => b.score - a.score || (a.member < b.member ? 1 : a.member > b.member ? -1 : 0));
  const pageMembers = members.slice(0, page.limit);
  const last = pageMembers[pageMembers.length - 1];
  const more = members.length > page.limit || raw.length / 2 >= page.limit + 50;
  return { members: pageMembers, nextCursor: more && last ? encodeCursor(last.score, last.member) : null };
}
