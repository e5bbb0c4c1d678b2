// A real Kubernetes control plane on loopback for e2e tests: etcd, kube-apiserver (RBAC on) and
// kube-controller-manager, plus Cartographer on demand. On its own there is no scheduler or kubelet, so
// Pods stay Pending: tests assert on API objects. Given a node's network namespace (test/support/node.ts)
// it runs inside that namespace, set up for a kubelet: see shared HARNESS.md and NODE.md for why each
// flag is there.
//
//   const controlPlane = new ControlPlane();
//   beforeAll(() => controlPlane.start(), 180_000);
//   afterAll(() => controlPlane.stop());
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cartographerConfigDir, describeVersions, findAssets, type Assets } from './assets.js';
import type { NetworkNamespace } from './netns.js';
import { createPki, issueCertificate, type Pki } from './pki.js';
import { freePort, ManagedProcess, run, type ProcessSpec, type RunOptions } from './processes.js';
import { waitFor } from './wait.js';

/** 2 cores, cold caches: the apiserver can take most of a minute to become ready. */
const API_SERVER_READY_TIMEOUT_MS = 90_000;
/** Lifetime of the ServiceAccount tokens in the kubeconfigs this harness writes; outlives any test run. */
const TOKEN_DURATION = '24h';
/** Cartographer v0.8.11 registers five controllers (workload, supply chain, deliverable, delivery, runnable). */
const CARTOGRAPHER_CONTROLLER_COUNT = 5;

/**
 * Only what API-level scenarios need (rollouts, ServiceAccounts and their tokens, namespace deletion,
 * garbage collection); node and scheduling controllers would have no kubelet to act on.
 */
const CONTROLLER_MANAGER_CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'clusterrole-aggregation-controller',
  'root-ca-certificate-publisher-controller',
];

/** With a node: Services get EndpointSlices (kube-proxy's input), and the Node's not-ready taint is lifted. */
const NODE_CONTROLLERS = ['endpointslice-controller', 'node-lifecycle-controller'];

/** The Service ClusterIP range; its first address is the `kubernetes` Service (in the apiserver's SANs). */
export const SERVICE_CIDR = '10.0.0.0/24';

export interface ControlPlaneOptions {
  /**
   * Run inside this node's network namespace, with the apiserver on every address there (advertising
   * the node IP, so the `kubernetes` Service leads to it), Node,RBAC authorization with NodeRestriction,
   * the ServiceAccount admission plugin (Pods get their token volume), and a client certificate for
   * kubelet's API. Its ports are mirrored to the host's loopback, so kubeconfigs and URLs are the same.
   * @default undefined: API only, on the host's loopback
   */
  node?: NetworkNamespace;
  /**
   * Users whose requests the apiserver's audit log records (verb, resource, namespace, name, status),
   * read back with auditEvents(): what a client really sent, as the apiserver understood it.
   * @default none: no audit log
   */
  auditUsers?: string[];
}

/** One request as the apiserver's audit log records it (audit.k8s.io/v1 Event, level Metadata). */
export interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

export interface KubectlOptions extends RunOptions {
  /** @default the admin kubeconfig */
  kubeconfig?: string;
}

type KubeconfigUser = { token: string } | { 'client-certificate': string; 'client-key': string };

export class ControlPlane {
  /** Temporary directory with the PKI, etcd data, logs and kubeconfigs; removed by stop(). */
  workDir = '';
  /** Admin kubeconfig (client certificate in system:masters). */
  kubeconfig = '';
  /** `https://127.0.0.1:<port>`; the port stays the same across restartApiServer(). */
  apiServerUrl = '';
  assets: Assets | undefined;
  #pki: Pki | undefined;
  #processes: ManagedProcess[] = [];
  #apiServer: ManagedProcess | undefined;
  readonly #node: NetworkNamespace | undefined;
  readonly #auditUsers: string[];

  constructor({ node, auditUsers = [] }: ControlPlaneOptions = {}) {
    this.#node = node;
    this.#auditUsers = auditUsers;
  }

  /** The requests of `auditUsers` so far, oldest first. */
  auditEvents(): AuditEvent[] {
    if (this.#auditUsers.length === 0) throw new Error('auditEvents() needs the auditUsers option');
    return readFileSync(this.#auditLog(), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditEvent);
  }

  /** Starts etcd, kube-apiserver and kube-controller-manager; resolves when they serve. */
  async start(): Promise<void> {
    await this.#showingLogsOnFailure(async () => {
      const assets = await findAssets();
      this.assets = assets;
      console.log(`e2e control plane binaries:\n${await describeVersions(assets)}`);
      this.workDir = mkdtempSync(join(tmpdir(), 'e2e-control-plane-'));
      const pki = await createPki(this.#subdir('pki'), this.#node ? [`IP:${this.#node.nodeIp}`] : []);
      this.#pki = pki;

      const etcdUrl = await this.#startEtcd();
      const port = await freePort();
      await this.#node?.mirrorLoopbackPort(port);
      this.apiServerUrl = `https://127.0.0.1:${port}`;
      this.kubeconfig = this.#writeKubeconfig('admin', {
        'client-certificate': pki.adminCert,
        'client-key': pki.adminKey,
      });
      await this.#startApiServer(this.#apiServerSpec(port, etcdUrl));
      await this.#startControllerManager();
    });
  }

  /** Stops kube-apiserver and starts it again on the same port with the same etcd data. */
  async restartApiServer(): Promise<void> {
    const apiServer = this.#apiServer;
    if (!apiServer) throw new Error('restartApiServer() before start()');
    await this.#showingLogsOnFailure(async () => {
      await apiServer.stop();
      await this.#startApiServer(apiServer.spec);
    });
  }

  /**
   * Ensures the ServiceAccount exists (and its namespace) and writes a kubeconfig that authenticates
   * only with a TokenRequest token for it, so that what it may do is decided by its RBAC alone.
   * @returns the kubeconfig's path
   */
  async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    // Created only when missing: re-applying either would drop the labels dist/ gives them (the
    // namespace's pod-security.kubernetes.io/enforce: restricted).
    for (const args of [['namespace', namespace], ['serviceaccount', name, '-n', namespace]]) {
      await this.kubectl(['create', ...args]).catch((error: unknown) => {
        if (!/already exists/i.test(String(error))) throw error;
      });
    }
    const token = await this.kubectl(['create', 'token', name, '-n', namespace, `--duration=${TOKEN_DURATION}`]);
    return this.#writeKubeconfig(`${namespace}.${name}`, { token: token.trim() });
  }

  /**
   * A kubeconfig authenticating with a new client certificate for `subject` (`/O=system:nodes/CN=…`),
   * signed by the cluster CA: how a kubelet is known to the Node authorizer.
   * @returns the kubeconfig's path
   */
  async certificateKubeconfig(name: string, subject: string): Promise<string> {
    const pki = this.#requirePki();
    const dir = this.#subdir('pki');
    const files = await issueCertificate({ cert: pki.caCert, key: pki.caKey }, { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }, subject, [
      'extendedKeyUsage=clientAuth',
    ]);
    return this.#writeKubeconfig(name, { 'client-certificate': files.cert, 'client-key': files.key });
  }

  /** The CA that signs the apiserver's serving certificate and every client certificate. */
  get caCert(): string {
    return this.#requirePki().caCert;
  }

  /**
   * Installs Cartographer's CRDs and RBAC from its Go module and runs it under its own ServiceAccount
   * token. Its per-Workload client swaps only the bearer token, and a client certificate would win
   * over it, so a token is the only way the Workload ServiceAccount's RBAC is really exercised.
   * Without -cert-dir it registers no webhooks.
   */
  async startCartographer(): Promise<void> {
    await this.#showingLogsOnFailure(async () => {
      const config = await cartographerConfigDir();
      const crds = join(config, 'crd/bases');
      await this.kubectl(['apply', '--server-side', '-f', crds]);
      await this.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
      // Creates the namespace too, which rbac.yaml leaves out; rbac.yaml then binds the role to it.
      const kubeconfig = await this.serviceAccountKubeconfig('cartographer-system', 'cartographer-controller');
      await this.kubectl(['apply', '-f', join(config, 'rbac/rbac.yaml')]);

      const binaries = this.#requireAssets().binaries;
      const cartographer = this.startProcess({
        name: 'cartographer',
        command: binaries.cartographer,
        args: [],
        // Cartographer runs `ytt` from PATH for ytt templates.
        env: { ...process.env, KUBECONFIG: kubeconfig, PATH: `${dirname(binaries.ytt)}:${process.env.PATH}` },
        cwd: this.workDir,
      });
      await waitFor(
        `cartographer's ${CARTOGRAPHER_CONTROLLER_COUNT} controllers to log "Starting workers"`,
        () => cartographer.log().split('Starting workers').length - 1 >= CARTOGRAPHER_CONTROLLER_COUNT,
        { timeoutMs: 60_000, abortIf: () => cartographer.assertRunning() },
      );
    });
  }

  /** Runs kubectl (admin unless `kubeconfig` says otherwise) and resolves with its stdout. */
  kubectl(args: string[], { kubeconfig, ...options }: KubectlOptions = {}): Promise<string> {
    const binaries = this.#requireAssets().binaries;
    return run(binaries.kubectl, ['--kubeconfig', kubeconfig ?? this.kubeconfig, ...args], options);
  }

  /**
   * Starts a long-running process whose log goes to `<workDir>/logs/<name>.log` and which stop()
   * ends with its whole process group. For the processes a scenario adds (controller, registry).
   */
  startProcess(spec: Omit<ProcessSpec, 'logFile'>): ManagedProcess {
    const placed = this.#node ? this.#node.wrap(spec) : spec;
    const managed = new ManagedProcess({ ...placed, logFile: join(this.#subdir('logs'), `${spec.name}.log`) });
    this.#processes.push(managed);
    return managed;
  }

  /** The last lines of every process's log, for a failure message. */
  logTails(): string {
    return this.#processes.map((managed) => managed.logTail()).join('\n');
  }

  /**
   * Stops every process this harness started (newest first) and removes the work directory. Safe to
   * call more than once and after a start() that failed halfway. Set E2E_KEEP_WORKDIR=1 to keep the
   * directory (logs, kubeconfigs) for a post-mortem.
   */
  async stop(): Promise<void> {
    const processes = this.#processes.reverse();
    this.#processes = [];
    for (const managed of processes) await managed.stop();
    if (!this.workDir) return;
    if (process.env.E2E_KEEP_WORKDIR) {
      console.log(`e2e control plane: kept ${this.workDir}`);
    } else {
      rmSync(this.workDir, { recursive: true, force: true });
    }
    this.workDir = '';
  }

  async #startEtcd(): Promise<string> {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    await this.#node?.mirrorLoopbackPort(clientPort);
    const etcd = this.startProcess({
      name: 'etcd',
      command: this.#requireAssets().binaries.etcd,
      args: [
        `--data-dir=${this.#subdir('etcd')}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        // Test data need not survive a power cut; fsync dominates apiserver latency otherwise.
        '--unsafe-no-fsync',
      ],
    });
    await waitFor('etcd /health', async () => (await fetch(`${clientUrl}/health`)).ok, {
      abortIf: () => etcd.assertRunning(),
    });
    return clientUrl;
  }

  #apiServerSpec(port: number, etcdUrl: string): Omit<ProcessSpec, 'logFile'> {
    const pki = this.#requirePki();
    const node = this.#node;
    const placement = node
      ? [
          // Every address in the namespace: 127.0.0.1 for the daemons and the host's mirror, the node IP
          // for Pods (the `kubernetes` Service's endpoint is the advertised address).
          '--bind-address=0.0.0.0',
          `--advertise-address=${node.nodeIp}`,
          '--authorization-mode=Node,RBAC',
          '--enable-admission-plugins=NodeRestriction',
          // logs/exec dial the Node's InternalIP; by name they would ask a resolver the namespace cannot reach.
          '--kubelet-preferred-address-types=InternalIP',
          `--kubelet-client-certificate=${pki.adminCert}`,
          `--kubelet-client-key=${pki.adminKey}`,
        ]
      : [
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          '--authorization-mode=RBAC',
          // Without a kubelet nothing mounts tokens; the plugin would only reject Pods created before
          // the serviceaccount controller makes the namespace's `default` ServiceAccount.
          '--disable-admission-plugins=ServiceAccount',
        ];
    return {
      name: 'kube-apiserver',
      command: this.#requireAssets().binaries['kube-apiserver'],
      args: [
        `--etcd-servers=${etcdUrl}`,
        ...placement,
        `--secure-port=${port}`,
        `--cert-dir=${this.#subdir('apiserver-certs')}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--service-account-issuer=https://127.0.0.1:${port}`,
        `--service-account-key-file=${pki.serviceAccountPublicKey}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        '--allow-privileged=true',
        // Bounds graceful shutdown at 2 s once requests drain; otherwise open watches (controllers,
        // Cartographer) hold it for the 60 s request timeout and restartApiServer() ends in SIGKILL.
        '--shutdown-send-retry-after=true',
        ...this.#auditArgs(),
      ],
    };
  }

  /** Audit logging of `auditUsers`' requests, written as each happens (the log backend's blocking mode). */
  #auditArgs(): string[] {
    if (this.#auditUsers.length === 0) return [];
    const policy = join(this.workDir, 'audit-policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived'],
        rules: [{ level: 'Metadata', users: this.#auditUsers }, { level: 'None' }],
      }),
    );
    return [`--audit-policy-file=${policy}`, `--audit-log-path=${this.#auditLog()}`, '--audit-log-format=json', '--audit-log-mode=blocking'];
  }

  #auditLog(): string {
    return join(this.workDir, 'audit.log');
  }

  async #startApiServer(spec: Omit<ProcessSpec, 'logFile'>): Promise<void> {
    const apiServer = this.startProcess(spec);
    this.#apiServer = apiServer;
    const options = { timeoutMs: API_SERVER_READY_TIMEOUT_MS, abortIf: () => apiServer.assertRunning() };
    await waitFor('kube-apiserver /readyz', async () => (await this.#apiGet('/readyz')) === 200, options);
    // /readyz can pass a moment before the bootstrap controller has created the default namespace.
    await waitFor('namespace default', async () => (await this.#apiGet('/api/v1/namespaces/default')) === 200, options);
  }

  async #startControllerManager(): Promise<void> {
    const pki = this.#requirePki();
    const controllerManager = this.startProcess({
      name: 'kube-controller-manager',
      command: this.#requireAssets().binaries['kube-controller-manager'],
      args: [
        `--kubeconfig=${this.kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        `--root-ca-file=${pki.caCert}`,
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--controllers=${[...CONTROLLER_MANAGER_CONTROLLERS, ...(this.#node ? NODE_CONTROLLERS : [])].join(',')}`,
      ],
    });
    // The serviceaccount controller creating `default` shows the controllers are running.
    await waitFor('ServiceAccount default/default from kube-controller-manager', async () => {
      await this.kubectl(['get', 'serviceaccount', 'default', '-n', 'default']);
      return true;
    }, { timeoutMs: 60_000, abortIf: () => controllerManager.assertRunning() });
  }

  /** GET against the apiserver as admin; resolves with the HTTP status. */
  #apiGet(path: string): Promise<number> {
    const pki = this.#requirePki();
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.apiServerUrl}${path}`,
        {
          ca: readFileSync(pki.caCert),
          cert: readFileSync(pki.adminCert),
          key: readFileSync(pki.adminKey),
          timeout: 5_000,
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      req.once('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.once('error', reject);
      req.end();
    });
  }

  #writeKubeconfig(name: string, user: KubeconfigUser): string {
    const file = join(this.#subdir('kubeconfigs'), `${name}.kubeconfig`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: this.apiServerUrl, 'certificate-authority': this.#requirePki().caCert } }],
      users: [{ name, user }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: name } }],
      'current-context': 'e2e',
    };
    // JSON is YAML, which is all kubectl and client-go ask of a kubeconfig.
    writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
    return file;
  }

  async #showingLogsOnFailure(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      console.error(`e2e control plane failed: ${error instanceof Error ? error.message : error}\n${this.logTails()}`);
      throw error;
    }
  }

  #subdir(name: string): string {
    if (!this.workDir) throw new Error('control plane not started');
    const dir = join(this.workDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  #requireAssets(): Assets {
    if (!this.assets) throw new Error('control plane not started');
    return this.assets;
  }

  #requirePki(): Pki {
    if (!this.#pki) throw new Error('control plane not started');
    return this.#pki;
  }
}
