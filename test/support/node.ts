/**
 * A real Kubernetes node for e2e tests (shared NODE.md): containerd + runc with a CNI bridge, kubelet,
 * kube-proxy (iptables) and kube-scheduler, all inside a network namespace the harness creates, where the
 * control plane and the registry run too (ControlPlane's `node` option). containerd knows the registry
 * as `localhost:5000` through a `certs.d/…/hosts.toml`, as kind's nodes do; Pods reach it at the node IP.
 *
 *   const node = await KubeNode.prepare();          // leftovers of a dead run removed, namespace made
 *   const controlPlane = new ControlPlane({ node: node.network });
 *   …
 *   await node.start(controlPlane);                 // resolves when the Node is Ready
 *   …
 *   await node.stop();                              // nothing left running, mounted or configured
 *
 * One node per machine: the kubepods cgroups and kubelet's device-plugins directory are global.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ControlPlane } from './control-plane.js';
import { SERVICE_CIDR } from './control-plane.js';
import { abandonedNamespaces, commandLineOf, killAndRemoveNamespace, NetworkNamespace } from './netns.js';
import { pushImage, writeRootfsLayout } from './oci.js';
import { ManagedProcess, run } from './processes.js';
import { waitFor } from './wait.js';

/** The node's address on its namespace's `lo`: what Pods reach the apiserver and the registry at. */
export const NODE_IP = '10.250.0.1';
/** Pods' addresses (host-local IPAM on the CNI bridge, whose gateway is the first one). */
const POD_CIDR = '10.250.1.0/24';
export const NODE_NAME = 'e2e-node';
/** Work directories start with this, so a later run can find a dead run's mounts and shims. */
const WORK_DIR_PREFIX = 'e2e-node-';
/**
 * The CNI network's name: libcni caches each attachment as /var/lib/cni/results/<network>-<sandbox id>-<if>,
 * for this network and for containerd's own `cni-loopback`.
 */
const CNI_NETWORK = 'e2e-node';
/** Paths kubelet, libcni and containerd's shims insist on, outside any work directory. */
const DEVICE_PLUGINS_DIR = '/var/lib/kubelet/device-plugins';
const CNI_RESULTS_DIR = '/var/lib/cni/results';
const SHIM_SOCKETS_DIR = '/run/containerd/s';
/** Where the cgroup v1 hierarchies are mounted, each holding kubelet's `kubepods` tree. */
const CGROUP_ROOT = '/sys/fs/cgroup';
/** The file in a work directory naming its run's network namespace. */
const OWNER_FILE = 'netns';

export interface NodeStartOptions {
  /** The registry as containerd names it (`localhost:5000`); it must serve plain HTTP inside the namespace. */
  registry: string;
  /** The same registry as the test runner reaches it (`127.0.0.1:5000`), to push the sandbox image. */
  pushTo: string;
}

/** Nodes between prepare() and remove(), torn down at once if the test process is told to stop. */
const liveNodes = new Set<KubeNode>();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const node of liveNodes) node.removeNow();
    // Handled once: the signal again now does what it would have done.
    process.kill(process.pid, signal);
  });
}

export class KubeNode {
  readonly network: NetworkNamespace;
  readonly workDir: string;
  /** The sandbox image, pushed to the registry by start(). */
  sandboxImage = '';
  #daemons = new Map<string, ManagedProcess>();

  private constructor(workDir: string, network: NetworkNamespace) {
    this.workDir = workDir;
    this.network = network;
    liveNodes.add(this);
  }

  /** Removes what a run that died left behind, then makes this run's work directory and namespace. */
  static async prepare(): Promise<KubeNode> {
    removeLeftovers();
    const workDir = mkdtempSync(join(tmpdir(), WORK_DIR_PREFIX));
    try {
      const network = await NetworkNamespace.create({ nodeIp: NODE_IP, serviceCidr: SERVICE_CIDR, workDir });
      writeFileSync(join(workDir, OWNER_FILE), network.name);
      return new KubeNode(workDir, network);
    } catch (error) {
      rmSync(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  get containerdSocket(): string {
    return join(this.workDir, 'containerd', 'containerd.sock');
  }

  /**
   * Pushes the sandbox image, starts containerd, kubelet, kube-proxy and kube-scheduler, and resolves
   * when the Node is Ready. The control plane must be running inside `network`.
   */
  async start(controlPlane: ControlPlane, { registry, pushTo }: NodeStartOptions): Promise<void> {
    const assets = controlPlane.assets;
    if (!assets) throw new Error('start the control plane before the node');
    const { binaries, versions } = assets;
    try {
      // Tagged as upstream tags it (registry.k8s.io/pause:3.10.1).
      const sandboxPath = `pause:${versions.PAUSE_VERSION.replace(/^v/, '')}`;
      this.sandboxImage = `${registry}/${sandboxPath}`;
      await this.#pushSandboxImage(binaries.pause, `${pushTo}/${sandboxPath}`);
      await this.#startContainerd(registry);

      const kubeletKubeconfig = await controlPlane.certificateKubeconfig(NODE_NAME, `/O=system:nodes/CN=system:node:${NODE_NAME}`);
      const kubelet = this.#startDaemon('kubelet', binaries.kubelet, [
        `--config=${this.#writeKubeletConfig(controlPlane.caCert)}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--node-ip=${NODE_IP}`,
        `--hostname-override=${NODE_NAME}`,
        `--root-dir=${this.#dir('kubelet')}`,
        // Its self-signed serving certificate; the default is /var/lib/kubelet/pki whatever --root-dir says.
        `--cert-dir=${this.#dir('kubelet/pki')}`,
        '--v=1',
      ]);
      this.#startDaemon('kube-proxy', binaries['kube-proxy'], [`--config=${this.#writeKubeProxyConfig(controlPlane.kubeconfig)}`]);
      this.#startDaemon('kube-scheduler', binaries['kube-scheduler'], [
        `--kubeconfig=${controlPlane.kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--secure-port=0',
      ]);
      await waitFor(
        `Node ${NODE_NAME} Ready`,
        async () => {
          const ready = await controlPlane.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
          if (ready === 'True') return true;
          throw new Error(`Ready is "${ready}"`);
        },
        { timeoutMs: 90_000, abortIf: () => this.#assertDaemonsRunning() },
      );
      // The not-ready taint is lifted by the node lifecycle controller a moment after Ready.
      await waitFor(`Node ${NODE_NAME} without taints`, async () => (await controlPlane.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.spec.taints}'])) === '', {
        timeoutMs: 60_000,
        abortIf: () => kubelet.assertRunning(),
      });
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${this.logTails()}`);
    }
  }

  /** The last lines of the logs kubelet wrote for the containers of every Pod in `namespace`, for a failure message. */
  podLogs(namespace: string): string {
    const dir = join(this.workDir, 'pod-logs');
    if (!existsSync(dir)) return '';
    return readdirSync(dir)
      .filter((entry) => entry.startsWith(`${namespace}_`))
      .flatMap((entry) => listFiles(join(dir, entry)))
      .map((file) => `--- ${file} ---\n${readFileSync(file, 'utf8').split('\n').slice(-40).join('\n')}`)
      .join('\n');
  }

  /** The host pid of a container's first process, from containerd: for faults the API cannot cause. */
  async containerPid(containerId: string): Promise<number> {
    const info = await this.#ctr(['tasks', 'ls']);
    const line = info.split('\n').find((row) => row.startsWith(containerId));
    if (!line) throw new Error(`no task for container ${containerId} in containerd:\n${info}`);
    return Number(line.split(/\s+/)[1]);
  }

  logTails(): string {
    return [...this.#daemons.values()].map((daemon) => daemon.logTail(20)).join('\n');
  }

  /**
   * Stops everything in the order that leaves nothing behind (NODE.md): kubelet first, so it restarts
   * nothing; then every container through containerd; containerd; any shim still serving its socket;
   * the other daemons. Then unmounts what is mounted under the work directory and removes the node's
   * cgroups, CNI results and device-plugins directory. The namespace goes in remove(), after the
   * control plane has stopped inside it.
   */
  async stop(): Promise<void> {
    await this.#daemons.get('kubelet')?.stop();
    if (this.#daemons.get('containerd')?.hasExited === false) {
      await this.#killContainers().catch((error: unknown) => console.error(`e2e node: killing containers: ${String(error)}`));
    }
    for (const name of ['containerd', 'kube-proxy', 'kube-scheduler']) await this.#daemons.get(name)?.stop();
    this.#daemons.clear();
    killShimsOf(this.workDir);
    removeNodeState(this.workDir);
  }

  /**
   * Deletes the namespace and the work directory. Call after every process inside has stopped. Throws
   * if anything the node made is still there: a process naming the work directory, a mount under it, a
   * kubepods cgroup, a CNI result or the device-plugins directory.
   */
  async remove(): Promise<void> {
    liveNodes.delete(this);
    await this.network.remove();
    const left = leftoversOf(this.workDir, this.network.path);
    if (process.env.E2E_KEEP_WORKDIR) console.log(`e2e node: kept ${this.workDir}`);
    else rmSync(this.workDir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`e2e node: left behind after teardown:\n  ${left.join('\n  ')}`);
  }

  /**
   * Everything stop() and remove() do, synchronously and without grace, for a test process that is being
   * stopped: every process in the namespace (the control plane's too) is killed, then shims, containers,
   * mounts and cgroups go as for a dead run's leftovers.
   */
  removeNow(): void {
    liveNodes.delete(this);
    for (const daemon of this.#daemons.values()) daemon.killGroup('SIGKILL');
    killAndRemoveNamespace(this.network.name);
    killShimsOf(this.workDir);
    removeNodeState(this.workDir);
    rmSync(this.workDir, { recursive: true, force: true });
  }

  async #pushSandboxImage(pauseBinary: string, reference: string): Promise<void> {
    const rootfs = this.#dir('sandbox-rootfs');
    execFileSync('cp', [pauseBinary, join(rootfs, 'pause')]);
    const layer = execFileSync('tar', ['-C', rootfs, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', 'pause'], { maxBuffer: 16 << 20 });
    // The upstream image's contract: /pause as the nobody-like 65535.
    const layout = await writeRootfsLayout(join(this.workDir, 'sandbox-image'), layer, { User: '65535:65535', Entrypoint: ['/pause'] });
    await pushImage(layout, reference);
  }

  async #startContainerd(registry: string): Promise<void> {
    const dir = this.#dir('containerd');
    const certsDir = join(dir, 'certs.d');
    mkdirSync(join(certsDir, registry), { recursive: true });
    // kind's way of telling the node where `localhost:5000` is; the registry serves plain HTTP.
    writeFileSync(
      join(certsDir, registry, 'hosts.toml'),
      `server = "http://${registry}"\n\n[host."http://${registry}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const cniConfDir = this.#dir('cni/net.d');
    writeFileSync(
      join(cniConfDir, '10-bridge.conflist'),
      JSON.stringify({
        cniVersion: '0.4.0',
        name: CNI_NETWORK,
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni0',
            isGateway: true,
            // Pods never leave the namespace, so there is nothing to masquerade for.
            ipMasq: false,
            hairpinMode: true,
            // IPAM state is per run: addresses leaked by failed sandboxes go with the work directory.
            ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: this.#dir('cni/ipam') },
          },
        ],
      }),
    );
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt"]

[grpc]
  address = "${this.containerdSocket}"

[ttrpc]
  address = "${this.containerdSocket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${this.sandboxImage}"
  # The VM lacks CAP_SYS_RESOURCE: without this every sandbox fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${join(dir, 'runc')}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${certsDir}"
`,
    );
    const containerd = this.#startDaemon('containerd', 'containerd', ['--config', config]);
    await waitFor('containerd serving', async () => (await this.#ctr(['version'])).includes('Server:'), {
      timeoutMs: 30_000,
      abortIf: () => containerd.assertRunning(),
    });
  }

  #writeKubeletConfig(clientCaFile: string): string {
    const resolvConf = join(this.workDir, 'resolv.conf');
    // No cluster DNS, and no query may leave the namespace.
    writeFileSync(resolvConf, 'nameserver 127.0.0.1\n');
    return this.#writeConfig('kubelet.json', {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'cgroupfs',
      // This machine mounts cgroup v1; 1.33 refuses it unless told.
      failCgroupV1: false,
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${this.containerdSocket}`,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: clientCaFile } },
      authorization: { mode: 'Webhook' },
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      resolvConf,
      podLogsDir: this.#dir('pod-logs'),
      volumePluginDir: this.#dir('volume-plugins'),
      shutdownGracePeriod: '0s',
      shutdownGracePeriodCriticalPods: '0s',
      // A test machine's disk and memory are whatever they are; nothing here should be evicted for it.
      evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      // Status changes reach the API server at once instead of every 10 s.
      nodeStatusUpdateFrequency: '1s',
      syncFrequency: '5s',
    });
  }

  #writeKubeProxyConfig(kubeconfig: string): string {
    return this.#writeConfig('kube-proxy.json', {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      clientConnection: { kubeconfig },
      hostnameOverride: NODE_NAME,
      clusterCIDR: POD_CIDR,
      // Zeros leave the conntrack sysctls alone, which are the host's, not the namespace's.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      iptables: { localhostNodePorts: false },
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
    });
  }

  #writeConfig(name: string, config: object): string {
    const file = join(this.#dir('config'), name);
    // JSON is YAML, which is all kubelet and kube-proxy ask of a config file.
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  }

  #startDaemon(name: string, command: string, args: string[]): ManagedProcess {
    const daemon = new ManagedProcess(this.network.wrap({ name, command, args, logFile: join(this.#dir('logs'), `${name}.log`) }));
    this.#daemons.set(name, daemon);
    return daemon;
  }

  #assertDaemonsRunning(): void {
    for (const daemon of this.#daemons.values()) daemon.assertRunning();
  }

  /** Kills every container containerd runs for Kubernetes, so no shim outlives containerd. */
  async #killContainers(): Promise<void> {
    const tasks = (await this.#ctr(['tasks', 'ls', '-q'])).split('\n').filter(Boolean);
    for (const id of tasks) await this.#ctr(['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
    await waitFor('every container stopped', async () => {
      const running = (await this.#ctr(['tasks', 'ls'])).split('\n').slice(1).filter((line) => /\bRUNNING\b/.test(line));
      return running.length === 0;
    }, { timeoutMs: 20_000 });
    for (const id of tasks) await this.#ctr(['tasks', 'delete', id]).catch(() => undefined);
  }

  #ctr(args: string[]): Promise<string> {
    return run('ctr', ['--address', this.containerdSocket, '--namespace', 'k8s.io', ...args]);
  }

  #dir(name: string): string {
    const dir = join(this.workDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}

/** Everything a node run leaves outside its namespace when it dies without stop(): found and removed. */
function removeLeftovers(): void {
  for (const name of abandonedNamespaces()) {
    console.log(`e2e node: removing namespace ${name} left by a run that died`);
    killAndRemoveNamespace(name);
  }
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(WORK_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    if (liveRunOwns(dir)) continue;
    console.log(`e2e node: removing ${dir} left by a run that died`);
    killShimsOf(dir);
    removeNodeState(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A work directory belongs to a live run while the namespace named in it exists: removeLeftovers()
 * deletes the namespaces of dead runs (named after their pid) first.
 */
function liveRunOwns(dir: string): boolean {
  const name = readFileSafe(join(dir, OWNER_FILE));
  return name !== '' && existsSync(`/run/netns/${name}`);
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Kills the containerd-shim-runc-v2 processes started for the containerd at `dir`'s socket (their
 * command line names it) and removes their sockets, which containerd 1.6 keeps in /run/containerd/s
 * named by sha256(<containerd address>/<namespace>/<id>).
 */
function killShimsOf(dir: string): void {
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    const commandLine = commandLineOf(pid);
    if (!commandLine[0]?.endsWith('containerd-shim-runc-v2')) continue;
    const flag = (name: string) => commandLine[commandLine.indexOf(name) + 1] ?? '';
    const address = flag('-address');
    if (!address.startsWith(`${dir}/`)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
    const socket = createHash('sha256').update(join(address, flag('-namespace'), flag('-id'))).digest('hex');
    rmSync(join(SHIM_SOCKETS_DIR, socket), { force: true });
  }
}

/** Unmounts everything under `dir` (deepest first), and removes the node's cgroups, CNI results and device-plugins dir. */
function removeNodeState(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => mountPoint !== undefined && (mountPoint === dir || mountPoint.startsWith(`${dir}/`)))
    .map((mountPoint) => mountPoint.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) {
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    } catch {
      // Gone with a parent already.
    }
  }
  for (const hierarchy of existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : []) {
    removeCgroupTree(join(CGROUP_ROOT, hierarchy, 'kubepods'));
  }
  for (const result of cniResultsOf(dir)) rmSync(result, { force: true });
  rmSync(DEVICE_PLUGINS_DIR, { recursive: true, force: true });
  // Their parents too, when the node made them: nothing else on this machine keeps files there.
  for (const created of [dirname(DEVICE_PLUGINS_DIR), CNI_RESULTS_DIR, dirname(CNI_RESULTS_DIR), SHIM_SOCKETS_DIR, dirname(SHIM_SOCKETS_DIR)]) {
    removeIfEmpty(created);
  }
}

/** What a node whose work directory is `dir` may leave outside it, if anything is still there. */
function leftoversOf(dir: string, netnsPath: string): string[] {
  const processes = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map((pid) => `process ${pid}: ${commandLineOf(pid).join(' ')}`)
    .filter((line) => line.includes(dir));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(dir))
    .map((mountPoint) => `mount ${mountPoint}`);
  const paths = [
    netnsPath,
    DEVICE_PLUGINS_DIR,
    ...(existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT).map((hierarchy) => join(CGROUP_ROOT, hierarchy, 'kubepods')) : []),
    ...cniResultsOf(dir),
  ].filter((path) => existsSync(path));
  return [...processes, ...mounts, ...paths];
}

/** libcni's cached results for the sandboxes of the containerd whose root is under `dir`. */
function cniResultsOf(dir: string): string[] {
  if (!existsSync(CNI_RESULTS_DIR)) return [];
  const sandboxes = ['root', 'state']
    .map((part) => join(dir, 'containerd', part, 'io.containerd.grpc.v1.cri/sandboxes'))
    .flatMap((sandboxesDir) => (existsSync(sandboxesDir) ? readdirSync(sandboxesDir) : []));
  return readdirSync(CNI_RESULTS_DIR)
    .filter((entry) => entry.startsWith(`${CNI_NETWORK}-`) || sandboxes.some((id) => entry.includes(`-${id}-`)))
    .map((entry) => join(CNI_RESULTS_DIR, entry));
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty, or not there.
  }
}

/**
 * cgroup directories are removed with rmdir, children first, once their processes are gone: a
 * container whose shim was killed with its run keeps running in its cgroup, so it is killed here.
 */
function removeCgroupTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path)) {
    const child = join(path, entry);
    if (statSync(child).isDirectory()) removeCgroupTree(child);
  }
  const procs = () => readFileSafe(join(path, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
  for (const pid of procs()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(path);
      return;
    } catch (error) {
      if (attempt >= 50) {
        console.error(`e2e node: cgroup ${path} not removed (processes ${procs().join(', ') || 'none'}): ${String(error)}`);
        return;
      }
      // A killed process leaves its cgroup a moment later.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(dir, entry))
    .filter((path) => statSync(path).isFile());
}
