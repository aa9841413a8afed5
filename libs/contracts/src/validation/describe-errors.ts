import type { ErrorObject } from 'ajv';
import { ERROR_MESSAGE_KEYWORD } from '../schemas/rules';

/** More errors than this are summarised: a 10 000-channel task with one typo repeated must not yield a 10 000-line reply. */
export const MAX_REPORTED_ERRORS = 20;

const ROOT_LABEL = '(root)';
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

interface Finding {
  readonly subject: string;
  readonly text: string;
  readonly reportsEmpty: boolean;
}

/**
 * Turns ajv errors into lines that name the field, e.g. `channels[3].id: must not contain control characters`,
 * `target: is required`, `unknown field "chanels"`. Requires ajv's `verbose` option (for rule messages).
 */
export function describeErrors(errors: readonly ErrorObject[], data: unknown): string[] {
  const findings = withoutUnchosenBranches(errors)
    .filter((error) => error.keyword !== 'propertyNames')
    .map((error) => describe(error, data));
  // An empty string breaks every pattern rule too; "must not be empty" is the only useful line about it.
  const emptySubjects = new Set(findings.filter((finding) => finding.reportsEmpty).map((finding) => finding.subject));
  const lines = findings
    .filter((finding) => finding.reportsEmpty || !emptySubjects.has(finding.subject))
    .map((finding) => (finding.subject === '' ? finding.text : `${finding.subject}: ${finding.text}`));
  return capped([...new Set(lines)]);
}

/**
 * An `anyOf` of differently typed forms (e.g. a list or the older object) makes ajv report every form's errors. Only
 * the forms of the value's own type matter; when no form has that type, one line names the accepted types.
 */
function withoutUnchosenBranches(errors: readonly ErrorObject[]): ErrorObject[] {
  let kept = [...errors];
  for (const anyOf of errors.filter((error) => error.keyword === 'anyOf')) {
    const prefix = `${anyOf.schemaPath}/`;
    const inBranch = kept.filter((error) => error.schemaPath.startsWith(prefix));
    const isTypeMismatch = (error: ErrorObject): boolean =>
      error.keyword === 'type' && error.instancePath === anyOf.instancePath && /^\d+\/type$/.test(error.schemaPath.slice(prefix.length));
    const mismatches = inBranch.filter(isTypeMismatch);
    if (mismatches.length === 0) continue;
    const chosen = inBranch.filter((error) => !isTypeMismatch(error));
    kept = kept.filter((error) => error !== anyOf && !inBranch.includes(error));
    if (chosen.length > 0) {
      kept.push(...chosen);
    } else {
      const types = mismatches.map((error) => withArticle(String((error.params as Record<string, unknown>).type)));
      kept.push({ ...anyOf, keyword: 'type', params: { type: types.join(' or ').replace(/^an? /, '') } });
    }
  }
  return kept;
}

export function capped(lines: readonly string[]): string[] {
  if (lines.length <= MAX_REPORTED_ERRORS) return [...lines];
  const hidden = lines.length - MAX_REPORTED_ERRORS;
  return [...lines.slice(0, MAX_REPORTED_ERRORS), `... and ${hidden} more error${hidden === 1 ? '' : 's'}`];
}

function describe(error: ErrorObject, data: unknown): Finding {
  const path = formatPath(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') {
    return finding(joinPath(path, String(params.missingProperty)), 'is required');
  }
  if (error.keyword === 'additionalProperties') {
    return finding('', `unknown field ${JSON.stringify(joinPath(path, String(params.additionalProperty)))}`);
  }
  const subject =
    error.propertyName === undefined
      ? path || ROOT_LABEL
      : `${path || ROOT_LABEL}: key ${JSON.stringify(error.propertyName)}`;
  const isEmptinessError = (error.keyword === 'minLength' || error.keyword === 'minItems') && params.limit === 1;
  return { subject, text: ruleMessage(error) ?? keywordMessage(error.keyword, params), reportsEmpty: isEmptinessError };
}

function finding(subject: string, text: string): Finding {
  return { subject, text, reportsEmpty: false };
}

function ruleMessage(error: ErrorObject): string | undefined {
  const parent: unknown = error.parentSchema;
  if (parent === null || typeof parent !== 'object') return undefined;
  const message = (parent as Record<string, unknown>)[ERROR_MESSAGE_KEYWORD];
  return typeof message === 'string' ? message : undefined;
}

const FORMAT_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'date-time': 'an RFC 3339 date-time with a time zone, e.g. 2025-06-01T12:00:00Z',
  uri: 'an absolute URI',
};

function keywordMessage(keyword: string, params: Record<string, unknown>): string {
  switch (keyword) {
    case 'type':
      return `must be ${withArticle(String(params.type))}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} characters`;
    case 'minItems':
      return params.limit === 1 ? 'must not be empty' : `must have at least ${String(params.limit)} items`;
    case 'maxItems':
      return `must have at most ${String(params.limit)} items`;
    case 'maxProperties':
      return `must have at most ${String(params.limit)} entries`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(params.comparison)} ${String(params.limit)}`;
    case 'format': {
      const format = String(params.format);
      return `must be ${FORMAT_DESCRIPTIONS[format] ?? `a valid ${format}`}`;
    }
    case 'pattern':
      return `must match the pattern ${String(params.pattern)}`;
    default:
      return `fails the "${keyword}" rule`;
  }
}

function withArticle(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function joinPath(path: string, key: string): string {
  return path === '' && IDENTIFIER.test(key) ? key : `${path}${formatKey(key)}`;
}

function formatKey(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** JSON pointer -> `channels[3].extras["build-id"]`; walks the data so array indexes and numeric keys read right. */
export function formatPath(pointer: string, root: unknown): string {
  if (pointer === '') return '';
  let path = '';
  let node: unknown = root;
  for (const segment of pointer.slice(1).split('/')) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path += `[${key}]`;
      node = (node as unknown[])[Number(key)];
    } else {
      path = joinPath(path, key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}
