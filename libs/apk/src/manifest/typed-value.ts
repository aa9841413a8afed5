import type { StringPool } from './string-pool';

/** Res_value data types (ResourceTypes.h). */
export const DataType = {
  NULL: 0x00,
  REFERENCE: 0x01,
  ATTRIBUTE: 0x02,
  STRING: 0x03,
  FLOAT: 0x04,
  DYNAMIC_REFERENCE: 0x07,
  DYNAMIC_ATTRIBUTE: 0x08,
  INT_DEC: 0x10,
  INT_HEX: 0x11,
  INT_BOOLEAN: 0x12,
  FIRST_INT: 0x10,
  LAST_INT: 0x1f,
} as const;

/** A decoded Res_value. Kinds a manifest reader has no use for stay `other`, with their raw fields. */
export type TypedValue =
  | { kind: 'null' }
  | { kind: 'string'; value: string }
  | { kind: 'int'; value: number; hex: boolean }
  | { kind: 'bool'; value: boolean }
  /** `@…` reference to a resource id; `dynamic` when its package id is assigned at runtime (shared libraries). */
  | { kind: 'reference'; id: number; dynamic: boolean }
  /** `?…` reference to a theme attribute: cannot be resolved without a theme. */
  | { kind: 'attribute'; id: number }
  | { kind: 'other'; dataType: number; data: number };

/** Decodes a Res_value's type and data; string data indexes `strings`, and a bad index reads as null. */
export function decodeValue(dataType: number, data: number, strings: StringPool | undefined): TypedValue {
  switch (dataType) {
    case DataType.NULL:
      return { kind: 'null' };
    case DataType.STRING: {
      const value = strings?.get(data) ?? null;
      return value === null ? { kind: 'null' } : { kind: 'string', value };
    }
    case DataType.INT_DEC:
      return { kind: 'int', value: data | 0, hex: false };
    case DataType.INT_HEX:
      return { kind: 'int', value: data | 0, hex: true };
    case DataType.INT_BOOLEAN:
      return { kind: 'bool', value: data !== 0 };
    case DataType.REFERENCE:
    case DataType.DYNAMIC_REFERENCE:
      return { kind: 'reference', id: data >>> 0, dynamic: dataType === DataType.DYNAMIC_REFERENCE };
    case DataType.ATTRIBUTE:
    case DataType.DYNAMIC_ATTRIBUTE:
      return { kind: 'attribute', id: data >>> 0 };
    default:
      return { kind: 'other', dataType, data: data >>> 0 };
  }
}

/**
 * The value as TypedArray.getInt sees it: any integer type as-is, a string parsed like XmlUtils.convertValueToInt
 * (sign, 0x / # hex, leading-0 octal); anything else has no integer value.
 */
export function intValue(v: TypedValue): number | undefined {
  switch (v.kind) {
    case 'int':
      return v.value;
    case 'bool':
      return v.value ? -1 : 0;
    case 'string':
      return parseAndroidInt(v.value);
    case 'other':
      return v.dataType >= DataType.FIRST_INT && v.dataType <= DataType.LAST_INT ? v.data | 0 : undefined;
    default:
      return undefined;
  }
}

/**
 * The value as a string, as TypedValue.coerceToString would render the types a manifest can carry; null for
 * references, attributes and null values, which have no literal text.
 */
export function stringValue(v: TypedValue): string | null {
  switch (v.kind) {
    case 'string':
      return v.value;
    case 'int':
      return v.hex ? `0x${(v.value >>> 0).toString(16)}` : String(v.value);
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'other':
      return v.dataType === DataType.FLOAT ? String(floatOf(v.data)) : null;
    default:
      return null;
  }
}

function floatOf(bits: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(bits >>> 0);
  return b.readFloatLE();
}

function parseAndroidInt(text: string): number | undefined {
  const m = /^\s*([-+]?)(0[xX][0-9a-fA-F]+|#[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\s*$/.exec(text);
  if (!m) return undefined;
  const digits = m[2] ?? '';
  let n: number;
  if (digits.startsWith('#')) n = parseInt(digits.slice(1), 16);
  else if (/^0[xX]/.test(digits)) n = parseInt(digits.slice(2), 16);
  else if (digits.length > 1 && digits.startsWith('0')) n = parseInt(digits.slice(1), 8);
  else n = parseInt(digits, 10);
  return (m[1] === '-' ? -n : n) | 0;
}
