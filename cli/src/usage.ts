import { BadInputError, DEFAULT_NAMING, PACK_FORMATS, PLACEHOLDER_LIST } from '@subpack/rules';

export class UsageError extends BadInputError {
  override readonly name = 'UsageError';
}

const PACK_OPTIONS = `pack options:
  --out <dir>          output directory (created if missing), or s3://bucket/prefix/ or oss://bucket/prefix/
  --channel <id>       a channel id; repeatable. "id,key=value" adds extras for that channel
  --channels <file>    one channel per line, "#" comments, "id,key=value,..." extras; UTF-8, CRLF ok;
                       ids are checked as written (never trimmed)
  --format <f>         auto (default): Walle + VasDolly pairs on v2+ APKs, VasDolly comment on v1-only APKs
                       walle | vasdolly: APK Signing Block pair (v2+ APKs)
                       v1-comment | meta-inf: v1-only APKs
  --extra key=value    extra written with every channel (Walle JSON / META-INF entry); repeatable
  --name <template>    output path under --out ("/" makes subdirectories); placeholders
                       ${PLACEHOLDER_LIST}
                       (one of {channel} {md5} {sha256} required); default ${DEFAULT_NAMING}
  --digests            compute MD5 and SHA-256 of every output (implied by --json and digest placeholders)
  --json               one JSON line per channel: channel, file (url for object storage), bytes, md5, sha256
  --no-compose         upload to object storage by streaming master[0:k] and the tail, instead of composing
                       each channel inside the store from a server-side copy of the master's prefix
  --quiet              no progress bar or summary
  --locale <tag>       resolve the label and version name for this locale (e.g. zh-CN)
`;

const BROKER_NOTE = `Broker commands read AMQP_URL, REDIS_URL and SUBPACK_REDIS_PREFIX like the services.
  --broker-timeout <seconds>  how long to wait for Redis or RabbitMQ to connect, and for each request or publish
                       (default 10); then the command names what it could not reach and exits 1
`;
const EXIT_CODES = 'Exit codes: 0 success; 1 some channels failed, or Redis/RabbitMQ not reachable in time; 2 bad input (arguments, APK, channel list, a missing bucket or master); 141 output closed.\n';

/** One synopsis per command, plus the options it explains under `subpack <command> --help`. */
export const COMMAND_USAGE: Readonly<Record<string, { synopsis: string; details: string }>> = {
  inspect: {
    synopsis: 'subpack inspect <apk> [--json] [--entries] [--locale <lang[-REGION]>]',
    details: `inspect options:
  --json               one JSON object: manifest, schemes, signing block pairs, channels, entries, problems
  --entries            also list every ZIP entry with its sizes
  --locale <tag>       resolve the label and version name for this locale (e.g. zh-CN)

An APK whose signing block is malformed is still inspected: what can be read is shown and the problem is named
under "problem:" (pack refuses such an APK).
`,
  },
  pack: {
    synopsis: `subpack pack <apk | s3://bucket/key | oss://bucket/key> --out <dir | s3://bucket/prefix/ | oss://bucket/prefix/>
               [--channel <id>]... [--channels <file>] [--no-compose]
               [--format ${PACK_FORMATS.join('|')}] [--extra key=value]...
               [--name <template>] [--digests] [--json] [--quiet]`,
    details: PACK_OPTIONS,
  },
  submit: {
    synopsis: 'subpack submit <task.json> [--wait] [--timeout <seconds>] [--broker-timeout <seconds>]',
    details: `submit options:
  --wait               follow the task until it finishes; exit 0 when every channel was stored
  --timeout <seconds>  how long --wait follows the task (a positive number, default 3600)

${BROKER_NOTE}`,
  },
  status: {
    synopsis: 'subpack status <taskId> [--json] [--broker-timeout <seconds>]',
    details: `status options:
  --json               the task summary and every channel's record as JSON

${BROKER_NOTE}`,
  },
  retry: {
    synopsis: 'subpack retry <taskId> [--json] [--broker-timeout <seconds>]',
    details: `retry: run a task that ended failed, partial or cancelled again, with the content it was sent with. Channels
  already stored are found holding the same bytes and kept; the others are planned and written again. The new run's
  events carry taskAttempt, and it ends with one task.completed or task.failed of its own. Follow it with subpack status.
  Exit 0 when the retry was started; 1 with the reason when it did nothing (task unknown, still running, or done).
  --json               the outcome as JSON: started, attempt, or the reason

${BROKER_NOTE}`,
  },
  cancel: {
    synopsis: 'subpack cancel <taskId> [--by <name>] [--reason <text>] [--json] [--broker-timeout <seconds>]',
    details: `cancel: stop a pending or running task for good. Nothing more is planned or written and nothing retries it; a
  write already under way is waited for (up to a minute) and kept, so the counts printed are final and every file in
  the target is one of the stored channels. Channels stored before stay where they are. One task.cancelled event is
  published, and no task.completed. Prints "<taskId>: cancelled, N stored, M failed of T".
  Exit 0 when the task is cancelled (also when it already was: it says so); 1 with the reason when there is nothing
  to cancel (task unknown, already finished, or completing with every channel accounted for).
  --by <name>          who cancels, recorded with the task and in task.cancelled (default: the local user name)
  --reason <text>      why, recorded with the task (subpack status shows it)
  --json               the outcome as JSON: outcome, status, done, failed, total

${BROKER_NOTE}`,
  },
  parked: {
    synopsis: 'subpack parked list [--json] [--limit N] | subpack parked replay --all | --id <messageId>...',
    details: `parked list: the parked messages with their reasons (--limit N, default 100; --json for the bodies)
parked replay: send parked messages back to their origin queue (--all, or --id <messageId>, repeatable)
  A parked task.pack of a finished task is sent back only when the task failed before any channel was planned (e.g.
  its master was missing): the task then runs again as subpack retry would. Otherwise it stays parked with the reason
  (run subpack retry <taskId>). Exit 1 when any message asked for was left parked or is not in the parking lot.

${BROKER_NOTE}`,
  },
  notify: {
    synopsis: 'subpack notify test <url> [--format json|dingtalk|wecom|feishu] [--secret <secret>] [--timeout <seconds>]',
    details: `notify test: sign and send one sample task.completed event the way the notifier does, to check a receiver
  --format <f>         json (Standard Webhooks, default), dingtalk, wecom or feishu
  --secret <secret>    whsec_<base64> for json, the robot's signing secret for dingtalk and feishu
  --timeout <seconds>  how long to wait for the answer (default 10)
The receiver's host must be on SUBPACK_NOTIFY_ALLOWED_HOSTS, checked as the notifier checks it (private and
loopback addresses only when the address itself is listed): a receiver the notifier would refuse is refused here.
Exit 0 when the receiver accepted it (2xx, and errcode/code 0 for robots); 1 with the reason otherwise.
`,
  },
  api: {
    synopsis: `subpack api [--port N]
  subpack api user add <name> --role admin|operator|viewer [--password-file <path>]
  subpack api user list [--json] | api user role <name> <role> | api user password <name> [--password-file <path>]
  subpack api user disable <name> | api user enable <name> | api user remove <name>`,
    details: `api: the HTTP API under /api/v1 (masters, channel lists, destinations, tasks, live progress, links, users)
  --port N             HTTP port (default HTTP_PORT, 8080); also /health/live, /health/ready, /metrics
api user: the API's users, edited in Redis; passwords come from --password-file or stdin, never the command line

The server reads the services' settings (AMQP_URL, REDIS_URL, SUBPACK_MASTER_ROOTS, SUBPACK_TARGET_ROOTS, ...) and
SUBPACK_API_DESTINATIONS, SUBPACK_API_ADMIN with SUBPACK_API_ADMIN_PASSWORD(_FILE), SUBPACK_API_LINK_KEY (see README).
`,
  },
  serve: {
    synopsis: `subpack serve [--port N]
  subpack serve app add <app> --master <apk path or URL> [--format f] [--name <template>]
                    [--extra key=value]... [--signed] | app list [--json] | app remove <app>
  subpack serve channel add <app> [--channel <id>]... [--channels <file>] | channel list <app> [--json]
                    | channel remove <app> <id>... | channel import <app> --task <taskId>
  subpack serve sign <app> <channel> [--ttl 1h] [--base http://host:port]`,
    details: `serve: answers GET/HEAD /apk/<app>/<channel>.apk with channel APKs built on the fly (no files written)
  --port N             HTTP port (default HTTP_PORT, 8080); also /health/live, /health/ready, /metrics, /admin/apps
serve app add: an app serves one master in one format; --name is the download's file name template
  --signed             downloads need ?expires=&sig= links made by "serve sign"
serve channel add|remove|list: the app's channels, same syntax as pack's --channel and --channels
serve channel import: the channels a finished pack task stored, where this app serves the same bytes
serve sign: prints a signed link valid for --ttl (e.g. 30m, 24h)

The server reads REDIS_URL, SUBPACK_REDIS_PREFIX, HTTP_PORT, SUBPACK_SERVE_ADMIN_TOKEN (enables /admin),
SUBPACK_SERVE_URL_KEY (signed links; also read by "serve sign") and SUBPACK_SERVE_MAX_AGE (Cache-Control).
`,
  },
};

export const USAGE = `subpack: channel-pack a signed Android APK without re-signing it

Usage:
${Object.values(COMMAND_USAGE).map((u) => `  ${u.synopsis}`).join('\n')}
  subpack <command> --help
  subpack --version

${BROKER_NOTE}
${PACK_OPTIONS}
${EXIT_CODES}`;

export function commandUsage(name: string): string | undefined {
  const usage = COMMAND_USAGE[name];
  return usage && `Usage:\n  ${usage.synopsis}\n\n${usage.details}\n${EXIT_CODES}`;
}

/** A positive number of seconds from an option, or a UsageError naming the option and the bad value. */
export function parsePositiveSeconds(option: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${option} must be a positive number of seconds, not ${JSON.stringify(text)}`);
  }
  return value;
}
