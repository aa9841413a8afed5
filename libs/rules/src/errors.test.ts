import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAD_INPUT, BadInputError, isBadInput, type MaybeBadInput } from './errors';

class ChannelListError extends BadInputError {
  override readonly name = 'ChannelListError';
}

/** Bad input only sometimes, as a store's error is: the mark follows a field. */
class SometimesBad extends Error implements MaybeBadInput {
  constructor(readonly permanent: boolean) {
    super('store said no');
  }
  get [BAD_INPUT](): boolean {
    return this.permanent;
  }
}

test('a subclass of BadInputError is bad input and keeps its message and name', () => {
  const err = new ChannelListError('channels.txt line 3: empty channel id');
  assert.equal(isBadInput(err), true);
  assert.equal(err.message, 'channels.txt line 3: empty channel id');
  assert.equal(err.name, 'ChannelListError');
  assert.ok(err instanceof Error);
});

test('a class that marks only some of its errors is bad input only for those', () => {
  assert.equal(isBadInput(new SometimesBad(true)), true);
  assert.equal(isBadInput(new SometimesBad(false)), false);
});

test('unexpected errors and things that are not errors are not bad input', () => {
  for (const err of [new Error('boom'), new TypeError('x is undefined'), new RangeError('too big'), Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' })]) {
    assert.equal(isBadInput(err), false, err.message);
  }
  // The mark alone, on something that is not an Error, is not enough: the caller shows err.message.
  for (const value of [undefined, null, 'bad input', 42, { [BAD_INPUT]: true, message: 'forged' }]) assert.equal(isBadInput(value), false);
});

test('the mark is a registered symbol, so a second copy of this package marks the same way', () => {
  const foreign = Object.assign(new Error('from another copy'), { [Symbol.for('@subpack/rules.bad-input')]: true });
  assert.equal(isBadInput(foreign), true);
});
