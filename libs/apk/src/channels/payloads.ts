import { ApkError } from '../errors';
import { U16_MAX } from '../zip/records';

/** Extras are string-to-string, as in Walle's JSON: every reader the game clients ship expects that. */
export type Extras = Record<string, string>;

export interface ChannelInfo {
  channel: string;
  extras: Extras;
}

// ---- Walle (Meituan): ID 0x71777777, UTF-8 JSON object with string values.

export function encodeWalle(info: ChannelInfo): Buffer {
  if (Object.prototype.hasOwnProperty.call(info.extras, 'channel')) {
    throw new ApkError('BAD_CHANNEL', 'extra key "channel" is reserved for the channel id in the Walle format');
  }
  return Buffer.from(JSON.stringify({ channel: info.channel, ...info.extras }), 'utf8');
}

export function decodeWalle(value: Buffer): ChannelInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new ApkError('BAD_CHANNEL', `Walle channel pair is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ApkError('BAD_CHANNEL', 'Walle channel pair is not a JSON object');
  }
  const extras: Extras = {};
  let channel = '';
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    if (k === 'channel') channel = s;
    else extras[k] = s;
  }
  return { channel, extras };
}

// ---- VasDolly (Tencent), v2/v3: ID 0x881155ff, the raw UTF-8 channel string.

export function encodeVasDolly(channel: string): Buffer {
  return Buffer.from(channel, 'utf8');
}

export function decodeVasDolly(value: Buffer): ChannelInfo {
  return { channel: value.toString('utf8'), extras: {} };
}

// ---- VasDolly, v1-only: ZIP comment `[old comment][channel UTF-8][u16 LE length]["ltlovezh"]`.

export const VASDOLLY_V1_MAGIC = Buffer.from('ltlovezh', 'latin1');

export function appendVasDollyComment(oldComment: Buffer, channel: string): Buffer {
  const bytes = Buffer.from(channel, 'utf8');
  if (bytes.length > U16_MAX) throw new ApkError('BAD_CHANNEL', `channel id of ${bytes.length} bytes is too long for the ZIP comment format`);
  const len = Buffer.alloc(2);
  len.writeUInt16LE(bytes.length, 0);
  return Buffer.concat([oldComment, bytes, len, VASDOLLY_V1_MAGIC]);
}

/** The channel in a VasDolly v1 comment, or null when the comment does not end with the magic. */
export function decodeVasDollyComment(comment: Buffer): ChannelInfo | null {
  const m = VASDOLLY_V1_MAGIC.length;
  if (comment.length < m + 2 || !comment.subarray(comment.length - m).equals(VASDOLLY_V1_MAGIC)) return null;
  const len = comment.readUInt16LE(comment.length - m - 2);
  const start = comment.length - m - 2 - len;
  if (start < 0) throw new ApkError('BAD_CHANNEL', 'VasDolly comment declares a channel longer than the comment');
  return { channel: comment.toString('utf8', start, start + len), extras: {} };
}

// ---- packer-ng v2 (read only): ID 0x7a786b21, "Packer Ng Sig V2", i32 LE len, `key∘value∙…`, i32 LE len.

const PACKER_NG_MAGIC = Buffer.from('Packer Ng Sig V2', 'latin1');
const PACKER_NG_KV = '∘';
const PACKER_NG_LINE = '∙';

export function decodePackerNg(value: Buffer): ChannelInfo {
  const m = PACKER_NG_MAGIC.length;
  if (value.length < m + 8 || !value.subarray(0, m).equals(PACKER_NG_MAGIC)) {
    throw new ApkError('BAD_CHANNEL', 'packer-ng pair does not start with "Packer Ng Sig V2"');
  }
  const len = value.readInt32LE(m);
  if (len < 0 || m + 4 + len + 4 > value.length || value.readInt32LE(m + 4 + len) !== len) {
    throw new ApkError('BAD_CHANNEL', 'packer-ng pair has inconsistent payload lengths');
  }
  const extras: Extras = {};
  let channel = '';
  for (const line of value.toString('utf8', m + 4, m + 4 + len).split(PACKER_NG_LINE)) {
    if (!line) continue;
    const i = line.indexOf(PACKER_NG_KV);
    const key = i < 0 ? line : line.slice(0, i);
    const val = i < 0 ? '' : line.slice(i + PACKER_NG_KV.length);
    if (key === 'channel') channel = val;
    else extras[key] = val;
  }
  return { channel, extras };
}

/** Test and migration helper: writes the packer-ng v2 payload (subpack itself only reads this format). */
export function encodePackerNg(info: ChannelInfo): Buffer {
  const text = Object.entries({ channel: info.channel, ...info.extras })
    .map(([k, v]) => `${k}${PACKER_NG_KV}${v}`)
    .join(PACKER_NG_LINE);
  const payload = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(4);
  len.writeInt32LE(payload.length, 0);
  return Buffer.concat([PACKER_NG_MAGIC, len, payload, len]);
}

// ---- META-INF entry (v1-only APKs): a stored file whose content is the Walle JSON. v1 verification ignores META-INF/.

export const META_INF_CHANNEL_ENTRY = 'META-INF/subpack-channel.json';
