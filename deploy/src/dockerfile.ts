// A reader for the Dockerfile subset this repository uses, and a replay of its COPY and RUN steps in plain directories,
// one per stage, standing in for `docker build` where no Docker engine runs. An instruction it does not know is an
// error rather than a silent skip, so the replay cannot pass by ignoring a step.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

export interface CopyStep {
  kind: 'COPY';
  sources: string[];
  dest: string;
  from?: string;
  line: number;
}
export interface RunStep {
  kind: 'RUN';
  command: string[];
  line: number;
}
export interface WorkdirStep {
  kind: 'WORKDIR';
  path: string;
  line: number;
}
export type Step = CopyStep | RunStep | WorkdirStep;

export interface Stage {
  name: string;
  image: string;
  steps: Step[];
  env: Record<string, string>;
  user?: string;
  expose: string[];
  healthcheck?: { command: string[]; options: Record<string, string> };
  cmd?: string[];
  entrypoint?: string[];
}

/** Instructions that only describe the image; recorded (where the checks need them) but nothing to replay. */
const DESCRIPTIVE = new Set(['LABEL', 'STOPSIGNAL', 'SHELL', 'VOLUME']);

function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (current === '' && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== '' && trimmed.startsWith('#')) return; // comment lines inside a continuation are dropped
    if (current === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      current += `${trimmed.slice(0, -1)} `;
      return;
    }
    out.push({ text: current + trimmed, line: start });
    current = '';
  });
  if (current !== '') throw new Error(`Dockerfile line ${start}: a continuation runs past the end of the file`);
  return out;
}

function substitute(value: string, vars: Record<string, string>, line: number): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const v = vars[name];
    if (v === undefined) throw new Error(`Dockerfile line ${line}: $${name} is not defined by an ARG or ENV`);
    return v;
  });
}

/** The exec form (a JSON array) or the shell form, which Docker runs as `/bin/sh -c`. */
function commandOf(rest: string, line: number): string[] {
  if (rest.startsWith('[')) {
    const parsed: unknown = JSON.parse(rest);
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) {
      throw new Error(`Dockerfile line ${line}: the exec form must be a JSON array of strings`);
    }
    return parsed;
  }
  return ['/bin/sh', '-c', rest];
}

/** Leading `--name=value` flags, then the rest. */
function flags(rest: string): { flags: Record<string, string>; rest: string } {
  const out: Record<string, string> = {};
  let s = rest;
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(s); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(s)) {
    out[m[1]!] = m[2]!;
    s = s.slice(m[0].length);
  }
  return { flags: out, rest: s };
}

function keyValues(rest: string, line: number): Record<string, string> {
  const [first, ...others] = rest.split(/\s+/);
  // The legacy form `ENV NAME value`: one variable, the rest of the line is its value.
  if (first && !first.includes('=')) return { [first]: others.join(' ') };
  const out: Record<string, string> = {};
  for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  if (Object.keys(out).length === 0) throw new Error(`Dockerfile line ${line}: expected NAME=value pairs`);
  return out;
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const globalArgs: Record<string, string> = {};
  let stageArgs: Record<string, string> = {};
  for (const { text: l, line } of logicalLines(text)) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${line}: cannot read "${l}"`);
    const instruction = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    const stage = stages[stages.length - 1];
    if (instruction === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`Dockerfile line ${line}: FROM image [AS name]`);
      stages.push({ name: from[2] ?? String(stages.length), image: substitute(from[1]!, globalArgs, line), steps: [], env: {}, expose: [] });
      stageArgs = {};
      continue;
    }
    if (instruction === 'ARG') {
      const [name, def] = rest.split('=', 2) as [string, string | undefined];
      const target = stage ? stageArgs : globalArgs;
      // Inside a stage, a bare `ARG NAME` brings the global value in.
      target[name] = def ?? globalArgs[name] ?? '';
      continue;
    }
    if (!stage) throw new Error(`Dockerfile line ${line}: ${instruction} before the first FROM`);
    const vars = { ...stageArgs, ...stage.env };
    switch (instruction) {
      case 'WORKDIR':
        stage.steps.push({ kind: 'WORKDIR', path: substitute(rest, vars, line), line });
        break;
      case 'ENV':
        for (const [k, v] of Object.entries(keyValues(rest, line))) stage.env[k] = substitute(v, vars, line);
        break;
      case 'COPY': {
        const { flags: f, rest: paths } = flags(rest);
        const unknown = Object.keys(f).filter((k) => !['from', 'chown', 'chmod'].includes(k));
        if (unknown.length > 0) throw new Error(`Dockerfile line ${line}: COPY --${unknown.join(', --')} is not replayed`);
        const parts = (paths.startsWith('[') ? (JSON.parse(paths) as string[]) : paths.split(/\s+/)).map((p) => substitute(p, vars, line));
        if (parts.length < 2) throw new Error(`Dockerfile line ${line}: COPY needs a source and a destination`);
        stage.steps.push({ kind: 'COPY', sources: parts.slice(0, -1), dest: parts[parts.length - 1]!, ...(f.from ? { from: f.from } : {}), line });
        break;
      }
      case 'RUN':
        stage.steps.push({ kind: 'RUN', command: commandOf(rest, line), line });
        break;
      case 'USER':
        stage.user = rest;
        break;
      case 'EXPOSE':
        stage.expose.push(...rest.split(/\s+/));
        break;
      case 'CMD':
        stage.cmd = commandOf(rest, line);
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = commandOf(rest, line);
        break;
      case 'HEALTHCHECK': {
        const { flags: f, rest: cmd } = flags(rest);
        const c = /^CMD\s+(.*)$/.exec(cmd);
        if (!c) throw new Error(`Dockerfile line ${line}: HEALTHCHECK [options] CMD command`);
        stage.healthcheck = { command: commandOf(c[1]!, line), options: f };
        break;
      }
      default:
        if (!DESCRIPTIVE.has(instruction)) throw new Error(`Dockerfile line ${line}: ${instruction} is not replayed; extend deploy/src/dockerfile.ts`);
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return stages;
}

/** A .dockerignore pattern as Docker reads it: Go filepath.Match per segment, `**` for any number of directories. */
function patternRegex(pattern: string): RegExp {
  let p = posix.normalize(pattern.replace(/^\/+/, ''));
  if (p.endsWith('/')) p = p.slice(0, -1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = p.indexOf(']', i);
      re += end > i ? p.slice(i, end + 1).replace('[!', '[^') : '\\[';
      if (end > i) i = end;
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class DockerIgnore {
  private readonly rules: { negate: boolean; re: RegExp }[];

  constructor(text: string) {
    this.rules = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => ({ negate: l.startsWith('!'), re: patternRegex(l.replace(/^!/, '')) }));
  }

  /** Docker excludes a path when the last rule matching it, or one of its parent directories, is not a `!` rule. */
  excludes(relPath: string): boolean {
    const parts = relPath.split('/');
    let excluded = false;
    for (const rule of this.rules) {
      const hit = parts.some((_, i) => rule.re.test(parts.slice(0, i + 1).join('/')));
      if (hit) excluded = !rule.negate;
    }
    return excluded;
  }

  get hasExceptions(): boolean {
    return this.rules.some((r) => r.negate);
  }
}

/** Every file, symlink and directory of the build context that .dockerignore lets through, as context-relative paths. */
export function contextEntries(contextDir: string, ignore: DockerIgnore): Set<string> {
  const out = new Set<string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(contextDir, rel))) {
      const child = rel ? `${rel}/${name}` : name;
      const excluded = ignore.excludes(child);
      const stat = lstatSync(join(contextDir, child));
      if (!excluded) out.add(child);
      // An excluded directory can still hold a `!` exception; without exceptions its contents are all excluded.
      if (stat.isDirectory() && (!excluded || ignore.hasExceptions)) walk(child);
    }
  };
  walk('');
  return out;
}

export interface ReplayedStage {
  stage: Stage;
  /** The directory standing in for the stage's filesystem root. */
  root: string;
  workdir: string;
  /** Host path of an absolute path inside the stage. */
  path(inImage: string): string;
}

export interface ReplayOptions {
  contextDir: string;
  workDir: string;
  /** Extra environment for RUN steps (e.g. npm's offline cache preference); the Dockerfile's ENV comes on top. */
  runEnv?: Record<string, string>;
  log?: (line: string) => void;
}

function copyInto(srcHost: string, destHost: string, intoDir: boolean): void {
  const stat = lstatSync(srcHost);
  if (stat.isDirectory()) {
    // A directory source copies its contents, not the directory itself.
    mkdirSync(destHost, { recursive: true });
    for (const name of readdirSync(srcHost)) cpSync(join(srcHost, name), join(destHost, name), { recursive: true, verbatimSymlinks: true });
    return;
  }
  const target = intoDir ? join(destHost, srcHost.split('/').pop()!) : destHost;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(srcHost, target, { verbatimSymlinks: true });
}

/**
 * Replays every stage: WORKDIR creates the directory, COPY copies what the context (less .dockerignore) or an
 * earlier stage holds (a missing source fails as in `docker build`), RUN runs the command in the stage's workdir.
 */
export function replayDockerfile(stages: Stage[], opts: ReplayOptions): ReplayedStage[] {
  const ignorePath = join(opts.contextDir, '.dockerignore');
  const ignore = new DockerIgnore(existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : '');
  const context = contextEntries(opts.contextDir, ignore);
  const done: ReplayedStage[] = [];
  stages.forEach((stage, index) => {
    const root = join(opts.workDir, `stage-${index}-${stage.name}`);
    mkdirSync(root, { recursive: true });
    const replayed: ReplayedStage = { stage, root, workdir: '/', path: (p) => join(root, posix.resolve('/', p)) };
    done.push(replayed);
    for (const step of stage.steps) {
      const where = `Dockerfile line ${step.line} (stage ${stage.name})`;
      if (step.kind === 'WORKDIR') {
        replayed.workdir = posix.resolve(replayed.workdir, step.path);
        mkdirSync(replayed.path(replayed.workdir), { recursive: true });
      } else if (step.kind === 'COPY') {
        const destInImage = posix.resolve(replayed.workdir, step.dest);
        const intoDir = step.dest.endsWith('/') || step.sources.length > 1;
        for (const source of step.sources) {
          let srcHost: string;
          if (step.from !== undefined) {
            const fromStage = done.find((d) => d.stage.name === step.from || String(done.indexOf(d)) === step.from);
            if (!fromStage || fromStage === replayed) throw new Error(`${where}: COPY --from=${step.from} names no earlier stage`);
            srcHost = fromStage.path(source);
            if (!existsSync(srcHost)) throw new Error(`${where}: COPY --from=${step.from} ${source}: not found in that stage`);
          } else {
            const rel = posix.normalize(source).replace(/^\/+/, '').replace(/\/$/, '');
            if (rel !== '.' && !context.has(rel)) {
              throw new Error(`${where}: COPY ${source}: not found in the build context or excluded by .dockerignore`);
            }
            srcHost = rel === '.' ? opts.contextDir : join(opts.contextDir, rel);
            if (lstatSync(srcHost).isDirectory()) {
              copyContextDir(opts.contextDir, rel, context, replayed.path(destInImage));
              continue;
            }
          }
          copyInto(srcHost, replayed.path(destInImage), intoDir);
        }
      } else {
        const env = { ...process.env, ...opts.runEnv, ...stage.env };
        opts.log?.(`${where}: RUN ${step.command.join(' ')}`);
        const r = spawnSync(step.command[0]!, step.command.slice(1), {
          cwd: replayed.path(replayed.workdir),
          env,
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (r.error) throw new Error(`${where}: RUN could not start: ${r.error.message}`);
        if (r.status !== 0) {
          throw new Error(`${where}: RUN exited ${r.status ?? r.signal}:\n${(r.stdout + r.stderr).slice(-4000)}`);
        }
      }
    }
  });
  return done;
}

/** Copies the context entries under `rel` (all of them for '.'), so excluded files never reach the stage. */
function copyContextDir(contextDir: string, rel: string, context: Set<string>, destHost: string): void {
  const prefix = rel === '.' ? '' : `${rel}/`;
  mkdirSync(destHost, { recursive: true });
  for (const entry of [...context].sort()) {
    if (!entry.startsWith(prefix)) continue;
    const src = join(contextDir, entry);
    const dest = join(destHost, entry.slice(prefix.length));
    const stat = lstatSync(src);
    if (stat.isDirectory()) mkdirSync(dest, { recursive: true });
    else {
      mkdirSync(dirname(dest), { recursive: true });
      cpSync(src, dest, { verbatimSymlinks: true });
    }
  }
}
