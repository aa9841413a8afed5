import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Controller, Get, Module, NotFoundException, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QuietNotFoundModule, ROUTE_NOT_FOUND, isUnknownRouteMessage } from './quiet-not-found';

@Controller('apps')
class AppsController {
  @Get(':name')
  get(): never {
    throw new NotFoundException('no such app');
  }
}

@Module({ imports: [QuietNotFoundModule], controllers: [AppsController] })
class TestModule {}

@Module({ controllers: [AppsController] })
class WithoutFilterModule {}

let app: INestApplication;
let base: string;
before(async () => {
  app = await NestFactory.create(TestModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
});
after(async () => {
  await app?.close();
});

test("Nest's own answer to an unknown route is recognised, and replaced by a fixed one that does not echo the path", async () => {
  const path = '/%3Cscript%3Ealert(1)%3C%2Fscript%3E';
  const res = await fetch(`${base}${path}`, { method: 'DELETE' });
  assert.equal(res.status, 404);
  const text = await res.text();
  assert.deepEqual(JSON.parse(text), ROUTE_NOT_FOUND);
  assert.ok(!text.includes('script'), text);
  // What Nest says without the filter: the text the check reads.
  const bare = await NestFactory.create(WithoutFilterModule, { logger: false });
  try {
    await bare.listen(0, '127.0.0.1');
    const port = ((bare.getHttpServer() as Server).address() as AddressInfo).port;
    const raw = (await (await fetch(`http://127.0.0.1:${port}/nowhere`, { method: 'PATCH' })).json()) as { message: unknown };
    assert.equal(raw.message, 'Cannot PATCH /nowhere');
    assert.equal(isUnknownRouteMessage(raw.message), true);
  } finally {
    await bare.close();
  }
});

test("a handler's own 404 keeps its message", async () => {
  const res = await fetch(`${base}/apps/cannot-get-this`);
  assert.equal(res.status, 404);
  assert.equal(((await res.json()) as { message: string }).message, 'no such app');
  assert.equal(isUnknownRouteMessage('no such app'), false);
  assert.equal(isUnknownRouteMessage(undefined), false);
});
