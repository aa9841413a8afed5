import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkedAddress, DeliveryRefusedError, HostAllowlist, specialAddressKind, type Lookup } from './address-policy';

const answers = (...addresses: string[]): Lookup => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('HostAllowlist', () => {
  const list = HostAllowlist.parse('hooks.example.com, *.corp.example, 127.0.0.1,[::1]');

  it('matches exact hosts, subdomains of *.domain (not the domain itself) and listed IPs', () => {
    assert.ok(list.allowsHost('hooks.example.com'));
    assert.ok(list.allowsHost('HOOKS.example.com.'));
    assert.ok(list.allowsHost('a.corp.example'));
    assert.ok(list.allowsHost('a.b.corp.example'));
    assert.ok(!list.allowsHost('corp.example'));
    assert.ok(!list.allowsHost('evilcorp.example'));
    assert.ok(!list.allowsHost('example.com'));
    assert.ok(list.allowsHost('127.0.0.1'));
    assert.ok(list.allowsHost('[::1]'));
    assert.ok(!list.allowsHost('127.0.0.2'));
  });

  it('names the bad entry', () => {
    assert.throws(() => HostAllowlist.parse('ok.example,https://x.example/'), /entry 2 \("https:\/\/x.example\/"\) must be a host name/);
    assert.throws(() => HostAllowlist.parse('*'), /entry 1/);
  });
});

describe('specialAddressKind', () => {
  it('classifies loopback, private, link-local, unique-local and IPv4-mapped addresses', () => {
    const kinds = Object.fromEntries(
      ['127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.1.1', '169.254.169.254', '0.0.0.0', '::1', '::', 'fd12::1', 'fe80::1', '::ffff:10.0.0.1', '::ffff:7f00:1', '8.8.8.8', '172.32.0.1', '2606:4700::1', '::ffff:8.8.8.8'].map((a) => [a, specialAddressKind(a)]),
    );
    assert.deepEqual(kinds, {
      '127.0.0.1': 'loopback',
      '10.0.0.1': 'private',
      '172.16.0.1': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local',
      '0.0.0.0': 'unspecified',
      '::1': 'loopback',
      '::': 'unspecified',
      'fd12::1': 'unique-local',
      'fe80::1': 'link-local',
      '::ffff:10.0.0.1': 'IPv4-mapped private',
      '::ffff:7f00:1': 'IPv4-mapped loopback',
      '8.8.8.8': undefined,
      '172.32.0.1': undefined,
      '2606:4700::1': undefined,
      '::ffff:8.8.8.8': undefined,
    });
  });
});

describe('checkedAddress', () => {
  it('refuses a host off the allowlist before resolving it', async () => {
    let resolved = false;
    const lookup: Lookup = async () => {
      resolved = true;
      return [{ address: '93.184.216.34', family: 4 }];
    };
    await assert.rejects(checkedAddress('https://other.example/hook', HostAllowlist.parse('hooks.example.com'), lookup), (error: unknown) => {
      assert.ok(error instanceof DeliveryRefusedError);
      assert.match(error.message, /host other\.example is not on the notifier allowlist \(SUBPACK_NOTIFY_ALLOWED_HOSTS\)/);
      return true;
    });
    assert.equal(resolved, false);
  });

  it('checks the resolved address: an allowed name pointing at a private address is refused unless that address is listed', async () => {
    const url = 'https://hooks.example.com/x';
    await assert.rejects(checkedAddress(url, HostAllowlist.parse('hooks.example.com'), answers('93.184.216.34', '10.0.0.7')), /resolves to 10\.0\.0\.7, a private address/);
    await assert.rejects(checkedAddress(url, HostAllowlist.parse('hooks.example.com'), answers('::ffff:127.0.0.1')), /IPv4-mapped loopback/);
    const allowed = await checkedAddress(url, HostAllowlist.parse('hooks.example.com,10.0.0.7'), answers('10.0.0.7'));
    assert.deepEqual(allowed, { hostname: 'hooks.example.com', address: '10.0.0.7', family: 4 });
  });

  it('returns the first public address to connect to', async () => {
    const target = await checkedAddress('http://a.corp.example:8080/', HostAllowlist.parse('*.corp.example'), answers('2606:4700::1', '93.184.216.34'));
    assert.deepEqual(target, { hostname: 'a.corp.example', address: '2606:4700::1', family: 6 });
  });

  it('takes IP literals as they are, still subject to the list', async () => {
    await assert.rejects(checkedAddress('http://127.0.0.1:9/', HostAllowlist.parse('*.example.com'), answers()), /not on the notifier allowlist/);
    assert.equal((await checkedAddress('http://127.0.0.1:9/', HostAllowlist.parse('127.0.0.1'), answers())).address, '127.0.0.1');
    assert.equal((await checkedAddress('http://[::1]:9/', HostAllowlist.parse('::1'), answers())).address, '::1');
  });
});
