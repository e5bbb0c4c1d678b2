/**
 * A network namespace for the e2e node (shared NODE.md): the only network its daemons and Pods have.
 * Its `lo` carries 127.0.0.1 and the node IP (a /32: the kernel here has no dummy interface), the CNI
 * bridge is added inside it by the bridge plugin, and there is no route out, so nothing in it can send a
 * packet anywhere but to itself and its Pods.
 *
 * The test runner stays in the host's namespace. What it must reach inside (the apiserver, etcd, the
 * registry) is mirrored onto the same port on the host's loopback through a Unix socket, which belongs to
 * the filesystem rather than to a network namespace: host 127.0.0.1:P → socket → namespace 127.0.0.1:P.
 * So every destination is loopback on one side or the other.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, run, type ProcessSpec } from './processes.js';

/** Every namespace this harness makes is named with this prefix, so a later run can find a dead run's. */
export const NETNS_PREFIX = 'ssc-node-';
const FORWARDER = fileURLToPath(new URL('./netns-forward.mjs', import.meta.url));

export interface NetworkNamespaceOptions {
  /** The node's address, on the namespace's `lo` as a /32. */
  nodeIp: string;
  /**
   * The Service ClusterIP range: routed to `lo` so that a connection from the namespace itself (the
   * registry notifying a Service) gets as far as kube-proxy's DNAT instead of "network unreachable".
   */
  serviceCidr: string;
  /** Directory for the mirrors' Unix sockets and log. */
  workDir: string;
}

export class NetworkNamespace {
  readonly name = `${NETNS_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly path = `/run/netns/${this.name}`;
  readonly nodeIp: string;
  #options: NetworkNamespaceOptions;
  #mirrors: { server: Server; forwarder: ManagedProcess; connections: Set<Socket> }[] = [];

  private constructor(options: NetworkNamespaceOptions) {
    this.#options = options;
    this.nodeIp = options.nodeIp;
  }

  static async create(options: NetworkNamespaceOptions): Promise<NetworkNamespace> {
    const namespace = new NetworkNamespace(options);
    await run('ip', ['netns', 'add', namespace.name]);
    try {
      await namespace.ip(['link', 'set', 'lo', 'up']);
      await namespace.ip(['addr', 'add', `${options.nodeIp}/32`, 'dev', 'lo']);
      await namespace.ip(['route', 'add', options.serviceCidr, 'dev', 'lo']);
    } catch (error) {
      await namespace.remove();
      throw error;
    }
    return namespace;
  }

  /** `ip -n <namespace> …` */
  ip(args: string[]): Promise<string> {
    return run('ip', ['-n', this.name, ...args]);
  }

  /**
   * The spec run inside the namespace. nsenter (not `ip netns exec`, which remounts /sys and so hides
   * the cgroup v1 hierarchy from kubelet) joins only the network namespace and execs the command, so
   * the process keeps its pid and ManagedProcess's process group.
   */
  wrap<T extends Pick<ProcessSpec, 'command' | 'args'>>(spec: T): T {
    return { ...spec, command: 'nsenter', args: [`--net=${this.path}`, '--', spec.command, ...spec.args] };
  }

  /** Makes 127.0.0.1:`port` inside the namespace reachable at 127.0.0.1:`port` on the host. */
  async mirrorLoopbackPort(port: number): Promise<void> {
    const dir = join(this.#options.workDir, 'mirrors');
    mkdirSync(dir, { recursive: true });
    const socketPath = join(dir, `${port}.sock`);
    const forwarder = new ManagedProcess(
      this.wrap({ name: `mirror-${port}`, command: process.execPath, args: [FORWARDER, `${socketPath}=${port}`], logFile: join(dir, `${port}.log`) }),
    );
    const connections = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = connect(socketPath);
      connections.add(inbound);
      inbound.once('close', () => connections.delete(inbound));
      inbound.pipe(outbound).pipe(inbound);
      inbound.once('error', () => outbound.destroy());
      outbound.once('error', () => inbound.destroy());
    });
    this.#mirrors.push({ server, forwarder, connections });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  }

  /**
   * Stops the mirrors and deletes the namespace. Every other process inside must have been stopped
   * first: any still there is killed, and named in the error this then throws.
   */
  async remove(): Promise<void> {
    for (const { server, forwarder, connections } of this.#mirrors.splice(0)) {
      server.close();
      for (const connection of connections) connection.destroy();
      await forwarder.stop();
    }
    const stragglers = pidsInNamespace(this.path).map((pid) => `${pid} ${commandLineOf(pid).join(' ')}`);
    killAndRemoveNamespace(this.name);
    if (stragglers.length > 0) throw new Error(`processes still in network namespace ${this.name} (killed): ${stragglers.join('; ')}`);
  }
}

/** Pids of the processes whose network namespace is the one bind-mounted at `path`. */
export function pidsInNamespace(path: string): number[] {
  let target: string;
  try {
    // The bind mount's inode is the namespace's, as /proc/<pid>/ns/net names it.
    target = `net:[${statSync(path).ino}]`;
  } catch {
    return [];
  }
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/net`) === target;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A process's arguments, or [] once it is gone. */
export function commandLineOf(pid: number | string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Namespaces this harness made in earlier runs whose test process is gone (their name holds its pid). */
export function abandonedNamespaces(): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((name) => {
    const match = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    return match !== null && !existsSync(`/proc/${match[1]}`);
  });
}

/** Kills every process in a namespace (one a dead run left, or this run's when it is being stopped) and deletes it. */
export function killAndRemoveNamespace(name: string): void {
  const path = `/run/netns/${name}`;
  for (const pid of pidsInNamespace(path)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (existsSync(path)) execFileSync('ip', ['netns', 'delete', name]);
  rmSync(path, { force: true });
}
