import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, bool, describeConfig, durations, int, loadConfig, oneOf, optionalStr, positive, str, url } from './fields';

const spec = {
  amqpUrl: url('AMQP_URL', 'amqp://127.0.0.1:5672', ['amqp:', 'amqps:']),
  prefetch: int('PREFETCH', 4, 1, 1000),
  tiers: durations('RETRY_TIERS', '5s,30s'),
  level: oneOf('LEVEL', 'info', ['info', 'warn'] as const),
  name: str('NAME'),
};

test('defaults fill what is unset', () => {
  const c = loadConfig(spec, { NAME: 'x' });
  assert.equal(c.prefetch, 4);
  assert.deepEqual(c.tiers, [
    { name: '5s', ttlMs: 5000 },
    { name: '30s', ttlMs: 30000 },
  ]);
});

test('every problem is reported at once, naming the variable and the value', () => {
  assert.throws(
    () => loadConfig(spec, { AMQP_URL: 'http://x', PREFETCH: 'lots', RETRY_TIERS: '5s,soon', LEVEL: 'loud' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 5, err.message);
      assert.match(err.message, /AMQP_URL="http:\/\/x" must use amqp: or amqps:/);
      assert.match(err.message, /PREFETCH="lots" must be an integer from 1 to 1000/);
      assert.match(err.message, /RETRY_TIERS="5s,soon" "soon" is not a duration/);
      assert.match(err.message, /LEVEL="loud" must be one of info, warn/);
      assert.match(err.message, /NAME is required/);
      return true;
    },
  );
});

test('describeConfig lists every variable, marking the ones without a default as required', () => {
  const described = describeConfig({ url: url('AMQP_URL', undefined, ['amqp:']), size: int('SUBPACK_BATCH_SIZE', 25, 1, 100) });
  assert.deepEqual(described, [
    { env: 'AMQP_URL', describe: 'a amqp: URL', required: true },
    { env: 'SUBPACK_BATCH_SIZE', describe: 'an integer from 1 to 100', required: false, default: 25 },
  ]);
});

test('a bad secret-bearing value is reported without echoing it', () => {
  const secretSpec = { token: { ...str('TOKEN'), parse: (): string => { throw new Error('must start with whsec_'); }, secret: true } };
  assert.throws(
    () => loadConfig(secretSpec, { TOKEN: 'hunter2' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, 'invalid configuration:\n  - TOKEN=(value hidden) must start with whsec_');
      return true;
    },
  );
});

test('positive, bool and optionalStr: what each accepts, and what it refuses with the variable named', () => {
  const s = { part: positive('PART_MB', 16, 'MiB'), style: bool('PATH_STYLE', false), region: optionalStr('REGION', 'a region'), key: optionalStr('KEY', 'a key', { secret: true }) };
  assert.deepEqual(loadConfig(s, {}), { part: 16, style: false, region: undefined, key: undefined });
  assert.deepEqual(loadConfig(s, { PART_MB: '0.5', PATH_STYLE: 'true', REGION: 'eu', KEY: 'k' }), { part: 0.5, style: true, region: 'eu', key: 'k' });
  assert.throws(() => loadConfig(s, { PART_MB: '0', PATH_STYLE: 'TRUE', REGION: ' ', KEY: '  ' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, ['PART_MB="0" must be a positive number of MiB', 'PATH_STYLE="TRUE" must be true or false', 'REGION=" " is empty', 'KEY=(value hidden) is empty']);
    return true;
  });
  for (const raw of ['abc', '-1', 'NaN', 'Infinity', '1e400']) assert.throws(() => loadConfig(s, { PART_MB: raw }), /PART_MB=.* must be a positive number of MiB/, raw);
});
