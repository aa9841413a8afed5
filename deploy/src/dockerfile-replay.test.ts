// `docker build` without Docker: the repository's Dockerfile is replayed step by step in a clean directory (the same
// files its COPY lines name, less .dockerignore, and the same RUN commands), then every compose service built from it
// runs out of the replayed runtime stage, with its compose command and environment, until the image's HEALTHCHECK
// passes. A file the build needs but the context leaves out, a dev dependency the services need at run time, or an
// entry point that does not exist fails here.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@subpack/testing';
import {
  createVhost,
  deleteRedisKeys,
  deleteVhost,
  freePort,
  randomRedisPrefix,
  REDIS_URL,
  type Vhost,
} from '@subpack/e2e';
import { DockerIgnore, parseDockerfile, replayDockerfile, type ReplayedStage } from './dockerfile';
import { composeEnv, composeSubpackServices, loadCompose, ROOT, serviceNames } from './repo';

function replayTiny(files: Record<string, string>): void {
  const dir = join(tmpRoot, `tiny-${Math.random().toString(16).slice(2)}`);
  const context = join(dir, 'context');
  mkdirSync(context, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(context, name, '..'), { recursive: true });
    writeFileSync(join(context, name), text);
  }
  replayDockerfile(parseDockerfile(files.Dockerfile!), { contextDir: context, workDir: join(dir, 'work') });
}

let tmpRoot = '';
before(async () => {
  tmpRoot = await makeTempDir('subpack-dockerfile-');
});
after(async () => {
  await rm(tmpRoot, { recursive: true, force: true });
});

describe('the replay fails where docker build would', () => {
  it('a COPY source missing from the context names the file and the line', () => {
    assert.throws(
      () => replayTiny({ Dockerfile: 'FROM node:20\nWORKDIR /app\nCOPY package.json tsconfig.json ./\n', 'package.json': '{}' }),
      /line 3 .*COPY tsconfig\.json: not found in the build context or excluded by \.dockerignore/,
    );
  });

  it('a source the .dockerignore excludes is missing too', () => {
    assert.throws(
      () => replayTiny({ Dockerfile: 'FROM node:20\nCOPY dist/main.js /app/\n', 'dist/main.js': '', '.dockerignore': '**/dist\n' }),
      /COPY dist\/main\.js: not found/,
    );
  });

  it('a failing RUN fails with its output', () => {
    assert.throws(() => replayTiny({ Dockerfile: 'FROM node:20\nRUN echo broken >&2 && exit 3\n' }), /RUN exited 3:\nbroken/);
  });

  it('COPY --from an unknown stage and an unknown instruction are errors, not skips', () => {
    assert.throws(() => replayTiny({ Dockerfile: 'FROM node:20 AS a\nCOPY --from=nope /x /y\n' }), /names no earlier stage/);
    assert.throws(() => parseDockerfile('FROM node:20\nONBUILD RUN true\n'), /ONBUILD is not replayed/);
  });

  it('.dockerignore: last rule wins, ** spans directories, a parent match excludes its contents', () => {
    const ignore = new DockerIgnore('**/node_modules\n*.md\n!README.md\ndata\n');
    assert.equal(ignore.excludes('libs/apk/node_modules/x/index.js'), true);
    assert.equal(ignore.excludes('node_modules'), true);
    assert.equal(ignore.excludes('CHANGES.md'), true);
    assert.equal(ignore.excludes('README.md'), false);
    assert.equal(ignore.excludes('libs/apk/README.md'), false);
    assert.equal(ignore.excludes('data/master.apk'), true);
    assert.equal(ignore.excludes('database.ts'), false);
  });
});

describe('the repository Dockerfile', { timeout: 15 * 60_000 }, () => {
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const runtimeStage = stages[stages.length - 1]!;
  let image: ReplayedStage;

  before(() => {
    const replayed = replayDockerfile(stages, {
      contextDir: ROOT,
      workDir: join(tmpRoot, 'image'),
      // The same npm ci, served from the local cache where it can be.
      runEnv: { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
      log: (line) => process.stdout.write(`${line}\n`),
    });
    image = replayed[replayed.length - 1]!;
  });

  it('is multi-stage, runs as a non-root user and has a HEALTHCHECK', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    assert.ok(runtimeStage.user && !['root', '0'].includes(runtimeStage.user.split(':')[0]!), `USER ${runtimeStage.user}`);
    assert.ok(runtimeStage.healthcheck, 'HEALTHCHECK in the runtime stage');
    assert.ok(runtimeStage.cmd, 'a default CMD');
  });

  it('holds every service entry point, the CLI and the default CMD', () => {
    const missing = [
      ...serviceNames().map((name) => `services/${name}/dist/main.js`),
      ...Object.values((JSON.parse(readFileSync(join(ROOT, 'cli', 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin).map(
        (bin) => `cli/${bin}`,
      ),
      runtimeStage.cmd![1]!,
    ].filter((file) => !existsSync(image.path(join(image.workdir, file))));
    assert.deepEqual(missing, [], 'entry points missing from the runtime stage');
  });

  it('has production dependencies only: no root devDependency is installed', () => {
    const devDependencies = Object.keys(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies,
    );
    assert.ok(devDependencies.length > 0);
    const installed = devDependencies.filter((dep) => existsSync(image.path(join(image.workdir, 'node_modules', dep, 'package.json'))));
    assert.deepEqual(installed, [], 'dev dependencies left in the runtime stage');
    const prod = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    const absent = prod.filter((dep) => !existsSync(image.path(join(image.workdir, 'node_modules', dep, 'package.json'))));
    assert.deepEqual(absent, [], 'production dependencies missing from the runtime stage');
  });

  it('runs every compose service built from it until the image HEALTHCHECK passes, and drains on SIGTERM', async () => {
    const services = composeSubpackServices(loadCompose());
    assert.ok(services.length >= serviceNames().length, 'compose runs every service');
    const vhost: Vhost = await createVhost('dockerfile');
    const redisPrefix = randomRedisPrefix('dockerfile');
    const problems: string[] = [];
    try {
      for (const [name, service] of services) {
        const port = await freePort();
        // Compose's hosts (the broker nodes, the sentinels) exist only in its network: this run uses the local broker
        // and Redis, with a vhost and key prefix of its own.
        const { REDIS_SENTINELS: _sentinels, REDIS_SENTINEL_MASTER: _master, ...composed } = composeEnv(service);
        const env: Record<string, string> = {
          PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
          HOME: tmpRoot,
          ...runtimeStage.env,
          ...composed,
          AMQP_URL: vhost.amqpUrl,
          REDIS_URL,
          SUBPACK_REDIS_PREFIX: redisPrefix,
          HTTP_PORT: String(port),
        };
        const problem = await runUntilHealthy(name, service.command ?? runtimeStage.cmd!, env, image, runtimeStage.healthcheck!.command);
        if (problem) problems.push(problem);
      }
    } finally {
      await deleteVhost(vhost);
      await deleteRedisKeys(redisPrefix);
    }
    assert.deepEqual(problems, []);
  });
});

/** Starts one service from the replayed image; returns what went wrong, or undefined when it was healthy and drained. */
async function runUntilHealthy(
  name: string,
  command: string[] | string,
  env: Record<string, string>,
  image: ReplayedStage,
  healthcheck: string[],
): Promise<string | undefined> {
  const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
  const cwd = image.path(image.workdir);
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      const probe = spawnSync(healthcheck[0]!, healthcheck.slice(1), { cwd, env, timeout: 5000 });
      if (probe.status === 0) {
        child.kill('SIGTERM');
        const code = await exited;
        return code === 0 ? undefined : `${name}: exited ${code} after SIGTERM:\n${output}`;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return `${name}: the HEALTHCHECK never passed${child.exitCode !== null ? ` (exited ${child.exitCode})` : ''}:\n${output}`;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
