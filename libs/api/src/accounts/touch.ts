import type Redis from 'ioredis';

// A write racing a removal (a login, a token's use) must not bring back a half record.
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

/** Sets one field of a hash that still exists. */
export async function touchIfExists(redis: Redis, key: string, field: string, value: string): Promise<void> {
  await redis.eval(TOUCH, 1, key, field, value);
}
