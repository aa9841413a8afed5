import { test } from 'node:test';
import assert from 'node:assert/strict';
import { urlWithoutCredentials } from './display-url';

test('a URL shown in a message carries no user name or password', () => {
  assert.equal(urlWithoutCredentials('amqp://svc:s3cret@mq.internal:5672/prod'), 'amqp://mq.internal:5672/prod');
  assert.equal(urlWithoutCredentials('redis://:p%40ss@127.0.0.1:6379/2'), 'redis://127.0.0.1:6379/2');
  assert.equal(urlWithoutCredentials('amqp://a:b@n1:5672,amqp://a:b@n2:5672'), 'amqp://n1:5672,amqp://n2:5672');
  assert.equal(urlWithoutCredentials('not a url with secret'), '(unparsable URL)');
});

test('a query or fragment is left out too', () => {
  assert.equal(urlWithoutCredentials('redis://cache:6379/0?password=x#y'), 'redis://cache:6379/0');
});
