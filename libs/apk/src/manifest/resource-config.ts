/**
 * The parts of ResTable_config a manifest reader needs: the locale, and whether any other qualifier
 * (density, sdk version, night mode, …) is set.
 */
export interface ResourceConfig {
  /** Lower-case ISO 639 code, '' for none. */
  language: string;
  /** Upper-case ISO 3166 code (or UN M.49 digits), '' for none. */
  region: string;
  script: string;
  variant: string;
  /** True when a qualifier other than the locale is set. */
  hasOtherQualifiers: boolean;
  /** Screen density in dpi; 0 when unset, {@link DENSITY_ANY} for anydpi, {@link DENSITY_NONE} for nodpi. */
  density: number;
}

/** ResTable_config::DENSITY_ANY, the anydpi qualifier. */
export const DENSITY_ANY = 0xfffe;
/** ResTable_config::DENSITY_NONE, the nodpi qualifier. */
export const DENSITY_NONE = 0xffff;

/** A locale to pick resources for, as parsed by {@link parseLocale}. */
export interface LocaleRequest {
  language: string;
  region: string;
}

// Field offsets inside ResTable_config (its first u32 is its own size).
const LANGUAGE = 8;
const REGION = 10;
const DENSITY = 14;
const SCRIPT = 36;
const VARIANT = 40;
const VARIANT_END = 48;

/** Reads the ResTable_config at `offset`, honouring its own size field (older files have shorter configs). */
export function readConfig(buf: Buffer, offset: number, limit: number): ResourceConfig {
  if (offset + 4 > limit) throw new Error(`resource config at offset ${offset} is truncated`);
  // Like ResTable_config::copyFromDtoH, take what the size field claims, but never read past the chunk header.
  const size = Math.min(buf.readUInt32LE(offset), limit - offset);
  const field = (from: number, to: number): Buffer => buf.subarray(offset + Math.min(from, size), offset + Math.min(to, size));
  const density = field(DENSITY, DENSITY + 2);
  let hasOtherQualifiers = false;
  for (let at = 4; at < size; at++) {
    const isLocale = (at >= LANGUAGE && at < REGION + 2) || (at >= SCRIPT && at < VARIANT_END);
    if (!isLocale && buf.readUInt8(offset + at) !== 0) {
      hasOtherQualifiers = true;
      break;
    }
  }
  return {
    language: unpackCode(field(LANGUAGE, LANGUAGE + 2), 0x61).toLowerCase(),
    region: unpackCode(field(REGION, REGION + 2), 0x30).toUpperCase(),
    script: asciiz(field(SCRIPT, SCRIPT + 4)),
    variant: asciiz(field(VARIANT, VARIANT_END)),
    hasOtherQualifiers,
    density: density.length === 2 ? density.readUInt16LE(0) : 0,
  };
}

/**
 * Two bytes hold either two ASCII letters or, when the high bit is set, three 5-bit letters offset from `base`
 * ('a' for languages, '0' for regions): ResTable_config::unpackLanguageOrRegion.
 */
function unpackCode(two: Buffer, base: number): string {
  if (two.length < 2) return '';
  const b0 = two.readUInt8(0);
  const b1 = two.readUInt8(1);
  if (b0 & 0x80) {
    const first = b1 & 0x1f;
    const second = ((b1 & 0xe0) >> 5) + ((b0 & 0x03) << 3);
    const third = (b0 & 0x7c) >> 2;
    return String.fromCharCode(first + base, second + base, third + base);
  }
  return asciiz(two);
}

function asciiz(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('latin1', 0, end === -1 ? bytes.length : end);
}

/** The locale as Android's qualifier text, e.g. 'zh-rCN', 'en', or '' for the default config. */
export function configLocale(c: ResourceConfig): string {
  if (c.script || c.variant) return ['b', c.language || 'und', c.script, c.region, c.variant].filter(Boolean).join('+');
  return c.region ? `${c.language}-r${c.region}` : c.language;
}

/** Accepts 'zh-CN', 'zh_CN', 'zh-rCN', 'zh-Hans-CN' (script ignored), 'en' or '' (default config). */
export function parseLocale(text: string): LocaleRequest {
  // 'b+sr+Latn' is Android's BCP-47 qualifier form.
  const parts = text.trim().replace(/^b\+/, '').split(/[-_+]/).filter(Boolean);
  const language = (parts.shift() ?? '').toLowerCase();
  if (language && !/^[a-z]{2,3}$/.test(language)) throw new Error(`locale ${JSON.stringify(text)}: bad language code`);
  let region = '';
  for (const part of parts) {
    const code = /^r[A-Z]{2}$/.test(part) ? part.slice(1) : part;
    if (/^([a-zA-Z]{2}|[0-9]{3})$/.test(code)) {
      region = code.toUpperCase();
      break;
    }
  }
  return { language, region };
}

/**
 * How well a config serves a request; undefined when it cannot serve it at all. Android's rule (a config's language
 * and region must equal the request's when the config has them) plus one convenience: a request without a region
 * ('zh') still takes a regional config ('zh-rCN') over the default, behind an exact or language-only match.
 */
export function localeScore(c: ResourceConfig, want: LocaleRequest | undefined): number | undefined {
  const exotic = c.script || c.variant ? 0.5 : 0;
  if (!c.language) return c.region ? undefined : 0;
  if (!want?.language || c.language !== want.language) return undefined;
  if (c.region === want.region) return 4 - exotic;
  if (!c.region) return 3 - exotic;
  return want.region ? undefined : 2 - exotic;
}
