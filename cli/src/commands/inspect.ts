import { parseArgs } from 'node:util';
import { inspectApk, type Inspection } from '@subpack/pack';
import { openLocalFile } from '@subpack/storage';
import { UsageError } from '../usage';

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, entries: { type: 'boolean', default: false }, locale: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one APK path');
  const info = await inspectApk(await openLocalFile(positionals[0]!), values.locale ? { locale: values.locale } : {});
  process.stdout.write(values.json ? `${JSON.stringify(info)}\n` : formatInspection(info, values.entries));
  return 0;
}

export function formatInspection(i: Inspection, listEntries = false): string {
  const lines = [
    `file:         ${i.file} (${i.size} bytes)`,
    `package:      ${i.package}`,
    `versionName:  ${i.versionName ?? '(none)'}`,
    `versionCode:  ${i.versionCode}${i.versionCodeMajor ? ` (major ${i.versionCodeMajor})` : ''}`,
    `label:        ${i.label ?? '(none)'}`,
    `minSdk:       ${i.minSdk ?? '(none)'}`,
    `targetSdk:    ${i.targetSdk ?? '(none)'}`,
    `schemes:      ${i.schemes.join(', ') || '(unsigned)'}`,
  ];
  if (i.signingBlock) {
    lines.push(`signing block: ${i.signingBlock.size} bytes at ${i.signingBlock.offset}`);
    for (const p of i.signingBlock.pairs) lines.push(`  ${p.id}  ${p.name.padEnd(18)} ${p.bytes} bytes`);
  } else {
    lines.push(i.problems.some((p) => p.code === 'BAD_SIGNING_BLOCK') ? 'signing block: unreadable' : 'signing block: none (v1-only or unsigned)');
  }
  if (i.channels.length === 0) lines.push('channels:     none');
  for (const c of i.channels) {
    const extras = Object.entries(c.extras).map(([k, v]) => `${k}=${v}`).join(', ');
    lines.push(`channel:      ${c.channel}  [${c.format}]${extras ? `  ${extras}` : ''}`);
  }
  lines.push(`entries:      ${i.entries.length}`);
  if (listEntries) {
    for (const e of i.entries) lines.push(`  ${String(e.size).padStart(10)} ${String(e.compressedSize).padStart(10)}  ${String(e.method).padEnd(8)} ${e.name}`);
  }
  for (const p of i.problems) lines.push(`problem:      ${p.message} (pack refuses this APK)`);
  return `${lines.join('\n')}\n`;
}
