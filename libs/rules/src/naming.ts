import { forbiddenCharacter, utf8Length } from './text';

export const NAMING_PLACEHOLDERS = ['channel', 'package', 'versionName', 'versionCode', 'label', 'md5', 'sha256'] as const;
export type NamingPlaceholder = (typeof NAMING_PLACEHOLDERS)[number];
export type NamingValues = Record<NamingPlaceholder, string>;
export const DEFAULT_NAMING = '{package}-{versionName}-{channel}.apk';
/** A template needs one of these, or every channel of a task would get the same file name. */
export const DISTINGUISHING_PLACEHOLDERS: readonly NamingPlaceholder[] = ['channel', 'md5', 'sha256'];
/** Hex digits of each digest placeholder, so names with digests can be checked before anything is hashed. */
export const DIGEST_PLACEHOLDER_LENGTHS = { md5: 32, sha256: 64 } as const;

/** One path segment (a file or directory name): the limit of ext4, XFS, APFS, NTFS (in bytes on the first three). */
export const FILE_NAME_SEGMENT_MAX_BYTES = 255;
/** A whole rendered name, subdirectories included: S3 and OSS object keys stop at 1024 bytes. */
export const FILE_NAME_MAX_BYTES = 1024;
export const NAMING_TEMPLATE_MAX_BYTES = 1024;

export const PLACEHOLDER_LIST = NAMING_PLACEHOLDERS.map((name) => `{${name}}`).join(' ');
const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Every problem with a naming template; each message completes "naming template …". A template is a relative path:
 * "/" makes subdirectories (object keys with "/" in object stores), and no segment may be empty, "." or "..", so a
 * rendered name always stays inside the target.
 */
export function namingTemplateProblems(template: string): string[] {
  if (template.length === 0) return ['is empty'];
  const problems: string[] = [];
  const bytes = utf8Length(template);
  if (bytes > NAMING_TEMPLATE_MAX_BYTES) problems.push(`is ${bytes} bytes long (UTF-8), above the limit of ${NAMING_TEMPLATE_MAX_BYTES}`);
  const forbidden = forbiddenCharacter(template);
  if (forbidden) problems.push(`contains the control or invisible character ${forbidden}`);
  for (const [, name = ''] of template.matchAll(PLACEHOLDER)) {
    if (!(NAMING_PLACEHOLDERS as readonly string[]).includes(name)) problems.push(`uses the unknown placeholder {${name}}; use ${PLACEHOLDER_LIST}`);
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) problems.push('has a "{" or "}" that is not part of a placeholder');
  if (!DISTINGUISHING_PLACEHOLDERS.some((name) => template.includes(`{${name}}`))) {
    problems.push('must contain {channel}, {md5} or {sha256} so that every channel gets its own file name');
  }
  problems.push(...pathShapeProblems(template));
  return problems;
}

/** Why a rendered name cannot be written, or null; the message completes "output name <name> …". */
export function fileNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  const forbidden = forbiddenCharacter(name);
  if (forbidden) return `contains the control or invisible character ${forbidden}`;
  return pathShapeProblems(name)[0] ?? fileNameLengthProblem(name);
}

/** Byte limits of a rendered name: each path segment, and the whole name. */
export function fileNameLengthProblem(name: string): string | null {
  for (const segment of name.split('/')) {
    const bytes = utf8Length(segment);
    if (bytes > FILE_NAME_SEGMENT_MAX_BYTES) {
      return `has a path segment of ${bytes} bytes (UTF-8), above the limit of ${FILE_NAME_SEGMENT_MAX_BYTES} per file or directory name`;
    }
  }
  const bytes = utf8Length(name);
  if (bytes > FILE_NAME_MAX_BYTES) return `is ${bytes} bytes long (UTF-8), above the limit of ${FILE_NAME_MAX_BYTES}`;
  return null;
}

function pathShapeProblems(path: string): string[] {
  const problems: string[] = [];
  if (path.includes('\\')) problems.push('must not contain "\\"; use "/" for subdirectories');
  if (path.startsWith('/')) problems.push('must be a relative path (no leading "/")');
  const segments = path.split('/');
  if (segments.some((segment, i) => segment === '' && !(i === 0 && path.startsWith('/')))) {
    problems.push('must not have an empty path segment ("//" or a trailing "/")');
  }
  if (segments.some((segment) => segment === '.' || segment === '..')) problems.push('must not have a "." or ".." path segment');
  return problems;
}

/** Values come from the APK and the channel list; none of them may add path structure or invisible characters. */
function asNamePart(value: string): string {
  const cleaned = value.replace(/[/\\]/g, '_').replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, '_');
  return cleaned === '.' || cleaned === '..' ? cleaned.replace(/\./g, '_') : cleaned;
}

/** Fills a template in; check the result with fileNameProblem. */
export function renderFileName(template: string, values: NamingValues): string {
  return template.replace(PLACEHOLDER, (_all, key: string) => asNamePart(values[key as NamingPlaceholder] ?? ''));
}

export function templateNeedsDigests(template: string): boolean {
  return template.includes('{md5}') || template.includes('{sha256}');
}

/** Stand-ins of the right length for digests not computed yet: enough to check a name's length up front. */
export function withDigestStandIns(values: Omit<NamingValues, 'md5' | 'sha256'>): NamingValues {
  return { ...values, md5: '0'.repeat(DIGEST_PLACEHOLDER_LENGTHS.md5), sha256: '0'.repeat(DIGEST_PLACEHOLDER_LENGTHS.sha256) };
}

/**
 * The shortest values an APK can give (a package name has at least one character, a version code one digit; label and
 * version name may be empty). A name that is too long with these is too long for every APK, so a publisher can refuse
 * it before the master is read.
 */
export const SHORTEST_APK_VALUES = { package: 'a', versionName: '', versionCode: '0', label: '' } as const;
