import pino, { type Logger } from 'pino';
import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from '@subpack/config';
import { PermanentError, safeLogLine } from '@subpack/messaging';

export type { Logger } from 'pino';


/**
 * JSON logs with ECS field names (`@timestamp`, `log.level`, `message`, `service.name`), so ELK ingests them without
 * a custom pipeline. Context such as taskId and channel goes in as top-level fields via child loggers.
 */
export function createLogger(service: string, level: LogLevel = 'info'): Logger {
  // Every line passes through safeLogLine: a task id, file name or reason echoing hostile input shows <U+202E>.
  const destination = { write: (line: string) => process.stdout.write(safeLogLine(line)) };
  return pino({
    level,
    messageKey: 'message',
    errorKey: 'error',
    base: { 'service.name': service, 'process.pid': process.pid },
    timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ 'log.level': label }) },
    serializers: {
      error: describeLoggedError,
    },
  }, destination);
}

/** Bad input is expected and named by its message, so it is logged without a stack; anything else keeps its stack. */
function describeLoggedError(err: unknown): Record<string, string | undefined> {
  if (err instanceof PermanentError) return { message: err.message, type: err.name };
  if (err instanceof Error) return { message: err.message, type: err.name, stack_trace: err.stack };
  return { message: String(err) };
}

/** Routes NestJS's own logging into the same JSON stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ 'log.logger': context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ 'log.logger': context, 'error.stack_trace': trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ 'log.logger': context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ 'log.logger': context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ 'log.logger': context }, String(message));
  }
}
