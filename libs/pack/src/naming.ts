import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileNameProblem, namingTemplateProblems, quoted, renderFileName, type NamingValues } from '@subpack/rules';
import { PackInputError } from './errors';

/** Checks a template once, before any work, with every problem in one message. */
export function checkNameTemplate(template: string): void {
  const problems = namingTemplateProblems(template);
  if (problems.length > 0) throw new PackInputError(`naming template ${quoted(template)} ${problems.join('; ')}`);
}

/**
 * Renders a template into a relative name (segments joined by "/") that fits the file-name byte limits and stays
 * inside `outDir`. The rules already exclude escaping names; resolving against `outDir` is the second lock.
 */
export function renderName(template: string, values: NamingValues, outDir: string): string {
  const name = renderFileName(template, values);
  const problem = fileNameProblem(name);
  if (problem) throw new PackInputError(`output name ${quoted(name)} for channel ${quoted(values.channel)} ${problem}`);
  const back = relative(resolve(outDir), resolve(outDir, name));
  if (!back || back === '..' || back.startsWith(`..${sep}`) || isAbsolute(back)) {
    throw new PackInputError(`output name ${quoted(name)} would be placed outside ${outDir}`);
  }
  return name;
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
