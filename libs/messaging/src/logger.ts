import { escapeUnsafe } from '@subpack/contracts';

/** The subset of a pino logger this library uses (a pino logger satisfies it). */
export interface MessagingLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** One JSON log line, hostile characters escaped (JSON already escapes the C0 controls but not bidi overrides). */
export function safeLogLine(json: string): string {
  return `${escapeUnsafe(json.replace(/\n$/, ''))}\n`;
}

function writeLine(level: string, fields: Record<string, unknown>, message: string): void {
  process.stderr.write(safeLogLine(JSON.stringify({ level, time: new Date().toISOString(), ...fields, message })));
}

/** Default: warnings and errors as JSON lines on stderr, so problems are never silent. */
export const stderrLogger: MessagingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (fields, message) => writeLine('warn', fields, message),
  error: (fields, message) => writeLine('error', fields, message),
};

export const silentLogger: MessagingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
