export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `subpack: channel-pack a signed Android APK without re-signing it

Usage:
  subpack inspect <apk> [--json] [--locale <lang[-REGION]>]
  subpack pack <apk> --out <dir> [--channel <id>]... [--channels <file>]
               [--format auto|walle|vasdolly|v1-comment|meta-inf] [--extra key=value]...
               [--name <template>] [--digests] [--json] [--quiet]
  subpack submit <task.json> [--wait] [--timeout <seconds>]
  subpack status <taskId> [--json]
  subpack parked list [--json] [--limit N] | subpack parked replay --all | --id <messageId>...

Broker commands read AMQP_URL, REDIS_URL and SUBPACK_REDIS_PREFIX like the services.

pack options:
  --out <dir>          output directory (created if missing)
  --channel <id>       a channel id; repeatable. "id,key=value" adds extras for that channel
  --channels <file>    one channel per line, "#" comments, "id,key=value,..." extras; UTF-8, CRLF ok
  --format <f>         auto (default): Walle + VasDolly pairs on v2+ APKs, VasDolly comment on v1-only APKs
                       walle | vasdolly: APK Signing Block pair (v2+ APKs)
                       v1-comment | meta-inf: v1-only APKs
  --extra key=value    extra written with every channel (Walle JSON / META-INF entry); repeatable
  --name <template>    output file name; placeholders {channel} {package} {versionName} {versionCode}
                       {label} {md5} {sha256}; default {package}-{versionName}-{channel}.apk
  --digests            compute MD5 and SHA-256 of every output (implied by --json and digest placeholders)
  --json               one JSON line per channel: channel, file, bytes, md5, sha256
  --quiet              no progress bar or summary

Exit codes: 0 success; 1 some channels failed; 2 bad input (arguments, APK, channel list).
`;
