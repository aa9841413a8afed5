import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { makeTempDir } from './tools';

/**
 * Engines for failover tests and benchmarks: a RabbitMQ cluster and a Redis primary/replica with sentinels, each node
 * a child process of this one, on loopback, on the ports it is given and in its own temp directory. The process
 * spawned is the server itself (not a shell around it), so `kill()` is a real SIGKILL of that node, and `stop()`
 * ends every node this module started, whatever state the test left it in.
 */

/** One server process. */
export class EngineNode {
  private child?: ChildProcess;
  private output = '';

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly env: Record<string, string> = {},
  ) {}

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server; refuses when something else already listens on its port (another run, a stale node). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    if (await portOpen(this.port)) throw new Error(`${this.name}: port ${this.port} is already in use`);
    const child = spawn(this.command, this.args, { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-6000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => keep(Buffer.from(`\nspawn error: ${err.message}\n`)));
    this.child = child;
  }

  /** SIGKILL: the node dies at once, as on a power cut; its clients see their connections reset. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP / SIGCONT: a node that is alive but answers nothing, e.g. a replica behind a slow link. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.running) this.child?.kill(signal);
  }

  outputTail(chars = 2000): string {
    return `--- ${this.name} (port ${this.port}) ---\n${this.output.slice(-chars)}`;
  }

  /** Resolves once the port accepts TCP connections (and the process still runs). */
  async waitListening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it listened\n${this.outputTail()}`);
      if (await portOpen(this.port)) return;
      if (Date.now() > deadline) throw new Error(`${this.name} did not listen on ${this.port} within ${timeoutMs} ms\n${this.outputTail()}`);
      await delay(200);
    }
  }
}

function runWithEnv(file: string, args: readonly string[], env: Record<string, string>): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout });
    });
  });
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';

export interface RabbitClusterOptions {
  /** AMQP ports, one per node; node i also uses `distBase + i` for Erlang distribution. */
  readonly ports: readonly number[];
  readonly distBase: number;
  /** Node names are `<prefix><i>@localhost`. */
  readonly prefix: string;
}

/**
 * A RabbitMQ cluster of `ports.length` nodes that form the cluster by themselves at boot (classic peer discovery), so
 * no node has to be stopped and joined: all boot in parallel. Its Erlang cookie lives in its own HOME, so no command
 * of this cluster can reach any other node on the machine.
 */
export class RabbitCluster {
  readonly nodes: EngineNode[] = [];

  private constructor(
    readonly dir: string,
    private readonly options: RabbitClusterOptions,
  ) {}

  static async start(options: RabbitClusterOptions, bootTimeoutMs = 180_000): Promise<RabbitCluster> {
    const dir = await makeTempDir('subpack-rabbit-cluster-');
    const cluster = new RabbitCluster(dir, options);
    try {
      await mkdir(join(dir, 'home'));
      const names = options.ports.map((_, i) => `${options.prefix}${i + 1}@localhost`);
      for (const [i, port] of options.ports.entries()) {
        const nodeDir = join(dir, `n${i + 1}`);
        await mkdir(nodeDir);
        const conf = [
          `listeners.tcp.1 = 127.0.0.1:${port}`,
          'loopback_users = none',
          'cluster_formation.peer_discovery_backend = classic_config',
          ...names.map((name, j) => `cluster_formation.classic_config.nodes.${j + 1} = ${name}`),
          'cluster_formation.randomized_startup_delay_range.min = 0',
          'cluster_formation.randomized_startup_delay_range.max = 1',
          // The test machine's disk may be nearly full; a disk alarm would block every publisher.
          'disk_free_limit.absolute = 1',
        ].join('\n');
        await writeFile(join(nodeDir, 'rabbitmq.conf'), `${conf}\n`);
        await writeFile(join(nodeDir, 'enabled_plugins'), '[].\n');
        cluster.nodes.push(
          new EngineNode(names[i]!, port, join(RABBITMQ_BIN, 'rabbitmq-server'), [], {
            HOME: join(dir, 'home'),
            // Makes the script exec the Erlang VM itself: the child's PID is the node's.
            RUNNING_UNDER_SYSTEMD: '1',
            RABBITMQ_NODENAME: names[i]!,
            RABBITMQ_NODE_PORT: String(port),
            RABBITMQ_DIST_PORT: String(options.distBase + i),
            RABBITMQ_CONFIG_FILE: join(nodeDir, 'rabbitmq.conf'),
            RABBITMQ_ADVANCED_CONFIG_FILE: join(nodeDir, 'advanced.config'),
            RABBITMQ_ENABLED_PLUGINS_FILE: join(nodeDir, 'enabled_plugins'),
            RABBITMQ_MNESIA_BASE: join(nodeDir, 'mnesia'),
            RABBITMQ_LOG_BASE: join(nodeDir, 'log'),
          }),
        );
      }
      await Promise.all(cluster.nodes.map((node) => node.start()));
      await Promise.all(cluster.nodes.map((node) => node.waitListening(bootTimeoutMs)));
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** The URLs of every node, for AMQP_URL (guest may connect from loopback). */
  urls(vhost = '/'): string[] {
    return this.options.ports.map((port) => `amqp://guest:guest@127.0.0.1:${port}/${encodeURIComponent(vhost)}`);
  }

  nodeAt(address: string): EngineNode {
    const node = this.nodes.find((n) => address.endsWith(`:${n.port}`));
    if (node === undefined) throw new Error(`no node of this cluster listens at ${address}`);
    return node;
  }

  /** Restarts a killed node; it rejoins the cluster from its data directory. */
  async restart(node: EngineNode, timeoutMs = 180_000): Promise<void> {
    await node.start();
    await node.waitListening(timeoutMs);
  }

  /** Runs rabbitmqctl against `node` of this cluster (with the cluster's own Erlang cookie). */
  async ctl(node: EngineNode, args: readonly string[]): Promise<string> {
    const { stdout } = await runWithEnv(join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', node.name, ...args], { HOME: join(this.dir, 'home') });
    return stdout;
  }

  /** Every queue of the default vhost with its ready + unacked messages, as a running node reports them. */
  async listQueues(): Promise<{ name: string; messages: number }[]> {
    const node = this.nodes.find((n) => n.running);
    if (node === undefined) throw new Error('no node of the cluster runs');
    return JSON.parse(await this.ctl(node, ['-q', 'list_queues', 'name', 'messages', '--formatter', 'json'])) as { name: string; messages: number }[];
  }

  outputs(): string {
    return this.nodes.map((n) => n.outputTail(800)).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface RedisSentinelOptions {
  /** Primary, then replica ports. */
  readonly dataPorts: readonly [number, number];
  readonly sentinelPorts: readonly number[];
  readonly masterName: string;
  /** How long sentinels wait before they call a silent primary down. Default 2000 ms. */
  readonly downAfterMs?: number;
}

/**
 * A Redis primary, one replica and `sentinelPorts.length` sentinels (quorum: a majority) on loopback, without
 * persistence: what a restarted node knows it learns from the others.
 */
export class RedisSentinelSet {
  readonly data: EngineNode[] = [];
  readonly sentinels: EngineNode[] = [];

  private constructor(
    readonly dir: string,
    readonly options: RedisSentinelOptions,
  ) {}

  static async start(options: RedisSentinelOptions, timeoutMs = 60_000): Promise<RedisSentinelSet> {
    const dir = await makeTempDir('subpack-redis-sentinel-');
    const set = new RedisSentinelSet(dir, options);
    try {
      const [primaryPort, replicaPort] = options.dataPorts;
      set.data.push(set.dataNode(primaryPort), set.dataNode(replicaPort, primaryPort));
      const quorum = Math.floor(options.sentinelPorts.length / 2) + 1;
      for (const port of options.sentinelPorts) {
        const file = join(dir, `sentinel-${port}.conf`);
        const conf = [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${options.masterName} 127.0.0.1 ${primaryPort} ${quorum}`,
          `sentinel down-after-milliseconds ${options.masterName} ${options.downAfterMs ?? 2000}`,
          `sentinel failover-timeout ${options.masterName} 10000`,
          `sentinel parallel-syncs ${options.masterName} 1`,
        ].join('\n');
        await writeFile(file, `${conf}\n`);
        set.sentinels.push(new EngineNode(`sentinel:${port}`, port, 'redis-server', [file, '--sentinel']));
      }
      await Promise.all(set.data.map((node) => node.start()));
      await Promise.all(set.data.map((n) => n.waitListening(timeoutMs)));
      await Promise.all(set.sentinels.map((node) => node.start()));
      await Promise.all(set.sentinels.map((n) => n.waitListening(timeoutMs)));
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  /** A data node; with `replicaOf` it starts as a replica of that port. No RDB/AOF: a restart starts empty. */
  private dataNode(port: number, replicaOf?: number): EngineNode {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--dbfilename', `dump-${port}.rdb`];
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    return new EngineNode(`redis:${port}`, port, 'redis-server', args);
  }

  /** REDIS_SENTINELS / REDIS_SENTINEL_MASTER for services and the CLI. */
  get env(): Record<string, string> {
    return {
      REDIS_SENTINELS: this.options.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
      REDIS_SENTINEL_MASTER: this.options.masterName,
    };
  }

  nodeAt(port: number): EngineNode {
    const node = this.data.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no Redis data node on port ${port}`);
    return node;
  }

  /**
   * Starts a killed data node again as a replica of `primaryPort` (what the sentinels would also tell it to become),
   * so it never comes back as a second primary.
   */
  async restartAsReplica(node: EngineNode, primaryPort: number, timeoutMs = 30_000): Promise<EngineNode> {
    const index = this.data.indexOf(node);
    if (index < 0) throw new Error(`${node.name} is not a data node of this set`);
    await node.kill();
    const replacement = this.dataNode(node.port, primaryPort);
    this.data[index] = replacement;
    await replacement.start();
    await replacement.waitListening(timeoutMs);
    return replacement;
  }

  outputs(): string {
    return [...this.data, ...this.sentinels].map((n) => n.outputTail(600)).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.data].map((n) => n.kill()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
