import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { REPO_ROOT, serviceMain, type ServiceName } from './paths';
import { atMost, delay } from './wait';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from spawn to exit. */
  afterMs: number;
}

/** Every child still running, so an aborted test run does not leave services consuming from the broker. */
const live = new Set<ChildProcess>();
function killLiveChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}
process.on('exit', killLiveChildren);
// 'exit' does not run when a signal ends the process (the test runner's timeout, Ctrl-C): kill the children first.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killLiveChildren();
    process.kill(process.pid, signal);
  });
}

/** A free TCP port on loopback, as the kernel hands it out (a small race with other binders is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Environment variables not passed on: the harness sets its own broker/Redis/port (inherited values would leak the
 * caller's in), and NODE_TEST_CONTEXT would make a child node process talk to the test runner.
 */
const OWN_ENV = /^(AMQP_URL|REDIS_URL|HTTP_PORT|LOG_LEVEL|SUBPACK_.*|NODE_TEST_CONTEXT)$/;

export interface StartOptions {
  /** Name shown in messages, e.g. "packer#2". */
  label: string;
  env: Record<string, string>;
  readyTimeoutMs?: number;
}

const OUTPUT_LIMIT = 4 * 1024 * 1024;

/** One service as a separate OS process, with its output captured for assertions and failure messages. */
/** The internal key the e2e services share (a deployment's own comes from its Secret). */
export const E2E_INTERNAL_KEY = 'e2e-internal-key-0123456789abcdef0123456789';

export class ServiceProcess {
  private stdoutText = '';
  private stderrText = '';
  private exitStatus: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;

  private constructor(
    readonly name: ServiceName,
    readonly label: string,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly startedAt: number,
  ) {
    live.add(child);
    child.stdout?.on('data', (d: Buffer) => (this.stdoutText = keepTail(this.stdoutText + d.toString())));
    child.stderr?.on('data', (d: Buffer) => (this.stderrText = keepTail(this.stderrText + d.toString())));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitStatus = { code, signal, afterMs: Date.now() - this.startedAt };
        live.delete(child);
        resolve(this.exitStatus);
      });
      child.on('error', (err) => {
        this.stderrText += `\n[harness] spawn error: ${err.message}`;
      });
    });
  }

  /** Starts `node services/<name>/dist/main.js` and waits until GET /health/ready answers 200. */
  static async start(name: ServiceName, opts: StartOptions): Promise<ServiceProcess> {
    const service = await ServiceProcess.spawn(name, opts);
    try {
      await service.waitReady(opts.readyTimeoutMs ?? 30_000);
    } catch (err) {
      await service.kill();
      throw err;
    }
    return service;
  }

  /** Starts the process without waiting for readiness (see waitReady). */
  static async spawn(name: ServiceName, opts: StartOptions): Promise<ServiceProcess> {
    const main = serviceMain(name);
    if (!existsSync(main)) throw new Error(`${main} does not exist: build the services first (npx tsc -b tsconfig.json)`);
    const port = Number(opts.env.HTTP_PORT ?? (await freePort()));
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !OWN_ENV.test(key)));
    const child = spawn(process.execPath, [main], {
      cwd: REPO_ROOT,
      env: { ...inherited, SUBPACK_INTERNAL_KEY: E2E_INTERNAL_KEY, ...opts.env, HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(name, opts.label, port, child, Date.now());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  /** The last `chars` characters of stdout and stderr, labelled, for failure messages. */
  outputTail(chars = 3000): string {
    const status = this.exitStatus
      ? `exited ${this.exitStatus.code ?? this.exitStatus.signal} ${this.exitStatus.afterMs} ms after start`
      : 'running';
    return (
      `--- ${this.label} (pid ${this.pid}, port ${this.port}, ${status}) stdout:\n${this.stdoutText.slice(-chars)}\n` +
      `--- ${this.label} stderr:\n${this.stderrText.slice(-chars)}`
    );
  }

  /** stdout lines that parse as JSON objects (the services log JSON lines). */
  logRecords(): Record<string, unknown>[] {
    const records: Record<string, unknown>[] = [];
    for (const line of this.stdoutText.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) records.push(parsed as Record<string, unknown>);
      } catch {
        // a line cut by the output limit, or plain text: not a log record
      }
    }
    return records;
  }

  /** HTTP GET on the service's health/metrics port; undefined when nothing answers. */
  async get(path: string): Promise<{ status: number; body: string } | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}${path}`, { signal: AbortSignal.timeout(3000) });
      return { status: response.status, body: await response.text() };
    } catch {
      return undefined;
    }
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.label} exited before it was ready\n${this.outputTail()}`);
      const response = await this.get('/health/ready');
      if (response?.status === 200) return;
      if (response) last = `${response.status} ${response.body.slice(0, 500)}`;
      await delay(200);
    }
    throw new Error(`${this.label} was not ready within ${timeoutMs} ms (last /health/ready: ${last})\n${this.outputTail()}`);
  }

  /** Sum of every sample of a Prometheus metric (all label sets); undefined when the metric is absent. */
  async metricTotal(metric: string): Promise<number | undefined> {
    const response = await this.get('/metrics');
    if (response?.status !== 200) throw new Error(`${this.label} GET /metrics answered ${response?.status ?? 'nothing'}`);
    return sumMetric(response.body, metric);
  }

  /** SIGTERM, then waits for the exit; SIGKILL after `timeoutMs` (and the status says so). */
  async stop(timeoutMs = 20_000): Promise<ExitStatus> {
    if (this.exitStatus) return this.exitStatus;
    this.child.kill('SIGTERM');
    const result = await atMost(timeoutMs, this.exited);
    if (result) return result;
    this.stderrText += `\n[harness] no exit ${timeoutMs} ms after SIGTERM: SIGKILL`;
    return this.kill();
  }

  /** SIGKILL (kill -9): the process gets no chance to finish or clean up. */
  async kill(): Promise<ExitStatus> {
    if (this.exitStatus) return this.exitStatus;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Sums the samples of `metric` in Prometheus text format (`name{labels} value` or `name value`). */
export function sumMetric(text: string, metric: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== metric) continue;
    total = (total ?? 0) + Number(match[3]);
  }
  return total;
}

function keepTail(text: string): string {
  return text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT / 2) : text;
}
