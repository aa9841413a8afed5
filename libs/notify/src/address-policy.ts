import type { Field } from '@subpack/config';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, isIPv4 } from 'node:net';

/** The delivery must not be made (host not allowed, forbidden address, redirect...): retrying cannot help. */
export class DeliveryRefusedError extends Error {
  override readonly name = 'DeliveryRefusedError';
}

/** Name of the setting the refusals point at. */
export const ALLOWLIST_SETTING = 'SUBPACK_NOTIFY_ALLOWED_HOSTS';

/**
 * Hosts a webhook may name: exact host names, `*.domain` (any subdomain of domain, not domain itself) and IP
 * addresses. Loopback, link-local, private and other special addresses are reached only when the address itself is
 * listed.
 */
export class HostAllowlist {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly addresses = new Set<string>();

  constructor(private readonly entries: readonly string[]) {
    entries.forEach((raw, index) => {
      const entry = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
      const problem = entryProblem(entry);
      if (problem !== undefined) throw new RangeError(`${ALLOWLIST_SETTING} entry ${index + 1} (${JSON.stringify(raw)}) ${problem}`);
      if (isIP(entry) !== 0) this.addresses.add(canonicalAddress(entry));
      else if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else this.exact.add(entry);
    });
  }

  static parse(list: string): HostAllowlist {
    return new HostAllowlist(list.split(',').filter((entry) => entry.trim() !== ''));
  }

  /** The entries as configured (for --print-config and logs). */
  toJSON(): string {
    return this.entries.join(',');
  }

  get size(): number {
    return this.exact.size + this.suffixes.length + this.addresses.size;
  }

  allowsHost(hostname: string): boolean {
    const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    if (isIP(host) !== 0) return this.addresses.has(canonicalAddress(host));
    return this.exact.has(host) || this.suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
  }

  namesAddress(address: string): boolean {
    return this.addresses.has(canonicalAddress(address));
  }
}

function entryProblem(entry: string): string | undefined {
  if (entry === '') return 'is empty';
  if (isIP(entry) !== 0) return undefined;
  const name = entry.startsWith('*.') ? entry.slice(2) : entry;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name)) {
    return 'must be a host name, *.domain or an IP address (no scheme, port or path)';
  }
  return undefined;
}

export interface CheckedAddress {
  readonly hostname: string;
  readonly address: string;
  readonly family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Checks the URL's host against the allowlist, resolves it, and checks every address it resolves to. The caller must
 * connect to the returned address (not resolve again), or a second DNS answer could point elsewhere.
 */
export async function checkedAddress(url: string, allowlist: HostAllowlist, lookup: Lookup = systemLookup): Promise<CheckedAddress> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DeliveryRefusedError(`only http and https webhooks are allowed, not ${parsed.protocol}`);
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!allowlist.allowsHost(hostname)) {
    throw new DeliveryRefusedError(`host ${hostname} is not on the notifier allowlist (${ALLOWLIST_SETTING})`);
  }
  const answers = isIP(hostname) !== 0 ? [{ address: hostname, family: isIP(hostname) }] : await lookup(hostname);
  const [first] = answers;
  if (first === undefined) throw new Error(`host ${hostname} has no address`);
  for (const { address } of answers) {
    const kind = specialAddressKind(address);
    if (kind !== undefined && !allowlist.namesAddress(address)) {
      throw new DeliveryRefusedError(
        `host ${hostname} resolves to ${address}, a ${kind} address; list that address in ${ALLOWLIST_SETTING} to allow it`,
      );
    }
  }
  return { hostname, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** Why an address must not be reached without being listed, or undefined for an ordinary public address. */
export function specialAddressKind(address: string): string | undefined {
  if (isIPv4(address)) return ipv4Kind(ipv4Number(address));
  const bytes = ipv6Bytes(address);
  if (bytes === undefined) return 'unparseable';
  const embeddedV4 = (offset: number): number =>
    (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
  const prefixIs = (prefix: readonly number[]): boolean => prefix.every((byte, index) => bytes[index] === byte);
  const zeros = (count: number): number[] => new Array<number>(count).fill(0);
  if (prefixIs([...zeros(10), 0xff, 0xff])) {
    const kind = ipv4Kind(embeddedV4(12));
    return kind === undefined ? undefined : `IPv4-mapped ${kind}`;
  }
  if (prefixIs([0x00, 0x64, 0xff, 0x9b, ...zeros(8)])) {
    const kind = ipv4Kind(embeddedV4(12));
    return kind === undefined ? undefined : `NAT64 ${kind}`;
  }
  if (bytes.every((byte) => byte === 0)) return 'unspecified';
  if (prefixIs([...zeros(15), 1])) return 'loopback';
  const first = bytes[0] ?? 0;
  const second = bytes[1] ?? 0;
  if ((first & 0xfe) === 0xfc) return 'unique-local';
  if (first === 0xfe && (second & 0xc0) === 0x80) return 'link-local';
  if (first === 0xfe && (second & 0xc0) === 0xc0) return 'site-local';
  if (first === 0xff) return 'multicast';
  if (prefixIs(zeros(12))) return 'IPv4-compatible';
  return undefined;
}

const IPV4_SPECIAL: readonly (readonly [string, number, string])[] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function ipv4Kind(value: number): string | undefined {
  for (const [base, bits, kind] of IPV4_SPECIAL) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((value & mask) >>> 0) === ((ipv4Number(base) & mask) >>> 0)) return kind;
  }
  return undefined;
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}

/** 16 bytes of an IPv6 address (with `::` and a dotted IPv4 tail expanded), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  const text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  let groups: string[];
  const [head = '', tail] = text.split('::');
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const withV4 = (parts: string[]): string[] => {
    const last = parts[parts.length - 1];
    if (last === undefined || !isIPv4(last)) return parts;
    const value = ipv4Number(last);
    return [...parts.slice(0, -1), (value >>> 16).toString(16), (value & 0xffff).toString(16)];
  };
  if (tail === undefined) {
    groups = withV4(split(head));
  } else {
    const left = split(head);
    const right = withV4(split(tail));
    groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  }
  return groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/** One spelling per address, so `::ffff:7f00:1` in a list matches `::ffff:127.0.0.1` from DNS. */
function canonicalAddress(address: string): string {
  if (isIPv4(address)) return address;
  const bytes = ipv6Bytes(address);
  return bytes === undefined ? address : bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The allowlist setting, read the same way by the notifier and by the API's "send a test" (one home). */
export const ALLOWLIST_FIELD: Field<HostAllowlist> = {
  env: ALLOWLIST_SETTING,
  describe: 'a comma-separated list of host names, *.domain entries and IP addresses',
  parse: (raw) => HostAllowlist.parse(raw),
  default: new HostAllowlist([]),
};
