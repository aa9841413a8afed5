import { parseArgs } from 'node:util';
import { NOTIFY_FORMATS, validateNotifySubscriptions, type NotifyFormat } from '@subpack/contracts';
import { ALLOWLIST_SETTING, HostAllowlist, sendTestDelivery } from '@subpack/notify';
import { UsageError } from '../usage';

const SUBSCRIPTION = 'subscription';
/** The command-line spelling of each subscription field, so a mistake names what was typed. */
const FIELD_OPTIONS: Readonly<Record<string, string>> = { url: '<url>', format: '--format', secret: '--secret' };

/** `subscription[0].secret: …` → `--secret: …`; a problem of the whole subscription loses its prefix. */
function asOptionError(error: string): string {
  const m = /^subscription\[0\](?:\.(\w+))?: (.*)$/s.exec(error);
  if (!m) return error;
  const option = m[1] === undefined ? undefined : FIELD_OPTIONS[m[1]];
  return option ? `${option}: ${m[2]}` : m[2]!;
}

/**
 * `subpack notify test <url>`: signs and sends one sample task.completed event the way the notifier would, so an
 * operator can check a receiver (its signature check, its robot key) before pointing tasks at it.
 */
export async function notifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { format: { type: 'string', default: 'json' }, secret: { type: 'string' }, timeout: { type: 'string', default: '10' } },
  });
  if (positionals[0] !== 'test' || positionals.length !== 2) throw new UsageError('usage: subpack notify test <url> [--format json|dingtalk|wecom|feishu] [--secret <secret>]');
  const url = positionals[1]!;
  if (!(NOTIFY_FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be one of ${NOTIFY_FORMATS.join(', ')}`);
  const timeoutSeconds = Number(values.timeout);
  if (!(timeoutSeconds > 0)) throw new UsageError('--timeout must be a positive number of seconds');
  const raw = { url, format: values.format as NotifyFormat, ...(values.secret !== undefined ? { secret: values.secret } : {}) };
  const checked = validateNotifySubscriptions([raw], SUBSCRIPTION);
  if (!checked.ok) throw new UsageError(checked.errors.map(asOptionError).join('; '));
  let allowlist: HostAllowlist;
  try {
    allowlist = HostAllowlist.parse(process.env[ALLOWLIST_SETTING] ?? '');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const outcome = await sendTestDelivery(raw, { allowlist, timeoutMs: timeoutSeconds * 1000 });
  if (!outcome.delivered) {
    process.stderr.write(`subpack: not delivered: ${outcome.reason}${outcome.permanent ? '' : ' (the notifier would retry this)'}\n`);
    return 1;
  }
  process.stdout.write(`delivered task.completed (${outcome.format}${outcome.signed ? ', signed' : ''}) with webhook-id ${outcome.deliveryId}: HTTP ${outcome.status}\n`);
  return 0;
}
