import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import { PackInputError } from './errors';

export const DEFAULT_NAME_TEMPLATE = '{package}-{versionName}-{channel}.apk';
export const NAME_PLACEHOLDERS = ['channel', 'package', 'versionName', 'versionCode', 'label', 'md5', 'sha256'] as const;
export type NamePlaceholder = (typeof NAME_PLACEHOLDERS)[number];
export type NameValues = Record<NamePlaceholder, string>;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Checks a template once, before any work: unknown placeholders and absolute or escaping paths are refused. */
export function checkNameTemplate(template: string): void {
  if (!template.trim()) throw new PackInputError('--name: the naming template is empty');
  for (const m of template.matchAll(PLACEHOLDER)) {
    const key = m[1] ?? '';
    if (!(NAME_PLACEHOLDERS as readonly string[]).includes(key)) {
      throw new PackInputError(`--name: unknown placeholder {${key}}; use ${NAME_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
    }
  }
  const literal = template.replace(PLACEHOLDER, 'x');
  if (isAbsolute(literal) || literal.split(/[\\/]/).some((seg) => seg === '..')) {
    throw new PackInputError(`--name: template ${JSON.stringify(template)} must be a relative path inside the output directory`);
  }
}

export function templateNeedsDigests(template: string): boolean {
  return /\{(md5|sha256)\}/.test(template);
}

/** Values come from the APK and the channel list; none of them may add path structure. */
function asPathPart(value: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = value.replace(/[/\\\u0000-\u001f\u007f]/g, '_');
  return cleaned === '.' || cleaned === '..' ? cleaned.replace(/\./g, '_') : cleaned;
}

/** Renders a template into a relative path that is guaranteed to stay inside `outDir`. */
export function renderName(template: string, values: NameValues, outDir: string): string {
  const name = template.replace(PLACEHOLDER, (_all, key: string) => asPathPart(values[key as NamePlaceholder]));
  const rel = normalize(name);
  const full = resolve(outDir, rel);
  const back = relative(resolve(outDir), full);
  if (!back || back === '..' || back.startsWith(`..${sep}`) || isAbsolute(back) || rel.endsWith(sep)) {
    throw new PackInputError(`output name ${JSON.stringify(name)} would be placed outside ${outDir}`);
  }
  return back;
}

/** Two channels that render to the same file would silently overwrite each other. */
export function assertUniqueNames(names: readonly { channel: string; name: string }[]): void {
  const seen = new Map<string, string>();
  for (const { channel, name } of names) {
    const other = seen.get(name);
    if (other !== undefined) {
      throw new PackInputError(`channels ${JSON.stringify(other)} and ${JSON.stringify(channel)} both produce ${JSON.stringify(name)}; put {channel} in --name`);
    }
    seen.set(name, channel);
  }
}
