import { parseArgs } from 'node:util';
import { NOTIFY_FORMATS, validateNotifySubscriptions, type NotifyFormat, type SubpackEvent } from '@subpack/contracts';
import { ALLOWLIST_SETTING, deliveryIdFor, HostAllowlist, renderRequest, resolveSubscription, robotReplyProblem, sendRequest } from '@subpack/notify';
import { UsageError } from '../usage';

const SAMPLE_TASK = 'subpack-notify-test';
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
  const subscription = resolveSubscription('global', raw, { named: new Map() });

  const event: SubpackEvent = { type: 'task.completed', taskId: SAMPLE_TASK, status: 'done', total: 2, done: 2, failed: 0, at: new Date().toISOString() };
  const deliveryId = deliveryIdFor([event], `${subscription.key}-${Date.now()}`);
  const request = renderRequest({
    deliveryId,
    taskId: SAMPLE_TASK,
    events: [event],
    subscription,
    facts: { package: 'com.example.app', versionName: '1.0.0', versionCode: 1 },
    now: new Date(),
  });
  // The notifier's own allowlist and address checks: a receiver it would refuse is refused here, with its reason.
  const outcome = await sendRequest(request, { allowlist, timeoutMs: timeoutSeconds * 1000, maxResponseBytes: 64 * 1024 });
  const problem = outcome.ok ? robotReplyProblem(subscription.format, outcome.status, outcome.body) : outcome;
  if (problem !== undefined) {
    process.stderr.write(`subpack: not delivered: ${problem.reason}${problem.permanent ? '' : ' (the notifier would retry this)'}\n`);
    return 1;
  }
  process.stdout.write(`delivered ${event.type} (${subscription.format}${subscription.secret !== undefined ? ', signed' : ''}) with webhook-id ${deliveryId}: HTTP ${outcome.ok ? outcome.status : ''}\n`);
  return 0;
}
