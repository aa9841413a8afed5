import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clearedSessionCookie, cookieMaxAge, readSessionCookie, sessionCookie } from './cookies';

const ID = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123_-9';

void describe('session cookie', () => {
  void it('is HttpOnly, SameSite=Strict and Path=/, and Secure when served over TLS', () => {
    assert.equal(sessionCookie(ID, { secure: true, maxAgeSeconds: 43200 }), `subpack_session=${ID}; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict; Secure`);
    assert.equal(sessionCookie(ID, { secure: false, maxAgeSeconds: 1.9 }), `subpack_session=${ID}; Max-Age=1; Path=/; HttpOnly; SameSite=Strict`);
    assert.equal(clearedSessionCookie({ secure: true }), 'subpack_session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Strict; Secure');
    assert.equal(cookieMaxAge(new Date(Date.now() + 10_500).toISOString()), 10);
  });

  void it('is read from a Cookie header among others, ignoring what cannot be a session id', () => {
    assert.equal(readSessionCookie(`subpack_session=${ID}`), ID);
    assert.equal(readSessionCookie(`theme=dark;subpack_session=${ID} ; other=1`), ID);
    assert.equal(readSessionCookie(`subpack_session="${ID}"`), ID);
    assert.equal(readSessionCookie(`subpack_session=junk; subpack_session=${ID}`), ID, 'a stray cookie from a parent domain');
    assert.equal(readSessionCookie(['a=1', `subpack_session=${ID}`]), ID);
    for (const header of [undefined, '', 'subpack_session=', 'subpack_session', `xsubpack_session=${ID}`, `subpack_session=${ID}=`, `subpack_session=${ID.slice(1)}`]) {
      assert.equal(readSessionCookie(header), undefined, String(header));
    }
  });
});
