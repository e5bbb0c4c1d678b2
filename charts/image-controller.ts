import { Chart, type Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { formatFlags, parseFlags } from '../controller/src/cli/flags.js';
import { RUN_FLAGS, type RunOptions } from '../controller/src/cli/run-flags.js';
import { DEFAULT_HTTP_PORT, type LogLevel } from '../controller/src/defaults.js';
import { CONTROLLER_RBAC, LOCAL_REGISTRY_HOSTING, type PolicyRule } from '../controller/src/kube/api.js';
import { CONTROLLER_ENV, CONTROLLER_NODE_OPTIONS } from '../controller/src/node-options.js';
import { controllerImage } from './local-registry.js';

/** The chart's defaults, for the code that finds what it deployed (tests, the harness). */
export const IMAGE_CONTROLLER_DEFAULTS = {
  namespace: 'image-controller-system',
  name: 'image-controller',
  image: controllerImage(),
  notificationSecretName: 'image-controller-notifications',
} as const;

export interface ImageControllerProps {
  /**
   * Namespace the controller runs in; created here, with the `restricted` Pod Security Standard enforced.
   * The seed ran its Spring Boot controller in `spring-system`.
   * @default 'image-controller-system'
   */
  readonly namespace?: string;

  /**
   * Name of the ServiceAccount, RBAC objects, Deployment and Service.
   * @default 'image-controller'
   */
  readonly name?: string;

  /**
   * The controller's container image (`npm run image` builds and pushes it). The Pod pulls it each time it
   * starts (`imagePullPolicy: Always`), so a tag that moves, as `latest` does with each build, is run as it
   * is when the Pod starts: restart the Deployment after a build.
   * @default 'localhost:5000/apps/controller:latest' (the seed's registry)
   */
  readonly image?: string;

  /**
   * Number of controller pods. With leader election one of them checks and writes and the others stand
   * by, so more than 1 buys a faster failover; more than 1 needs `leaderElect`.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Whether a replica must hold the Lease before it checks and writes (`--leader-elect`); the Lease is in
   * the controller's namespace. Without it, a Role for the Lease is not created.
   * @default true
   */
  readonly leaderElect?: boolean;

  /**
   * How often an Image without `spec.interval` is checked (`--interval`), at least 1 s.
   * @default the controller's: 10 s
   */
  readonly interval?: Duration;

  /**
   * Most registry checks running at once (`--concurrency`).
   * @default the controller's: 16
   */
  readonly concurrency?: number;

  /**
   * Deadline of each registry request (`--request-timeout`).
   * @default the controller's: 10 s
   */
  readonly requestTimeout?: Duration;

  /**
   * Lowest level logged (`--log-level`); `debug` shows each "Checking digest for: <url>".
   * @default the controller's: 'info'
   */
  readonly logLevel?: LogLevel;

  /**
   * Watch Images in this namespace only (`--namespace`); the controller's permissions are then granted
   * by a Role there instead of a ClusterRole.
   * @default every namespace
   */
  readonly watchNamespace?: string;

  /**
   * Registries to contact under another name (`--registry-alias from=to`): Images naming `from` are
   * checked at `to`, and their status still names `from`. Adds to the cluster's local-registry-hosting
   * ConfigMap (KEP-1755), which the controller reads too.
   * @default none
   */
  readonly registryAliases?: Readonly<Record<string, string>>;

  /**
   * Registry host globs the controller may contact (`--allowed-registries`), e.g. `['localhost:5000', '*.example.com']`.
   * @default every registry (link-local and cloud metadata addresses are always refused)
   */
  readonly allowedRegistries?: readonly string[];

  /**
   * Port of /healthz, /readyz, /metrics and /notifications: the container's, the probes' and the Service's.
   * @default 8080
   */
  readonly port?: number;

  /**
   * Secret whose `token` key is the bearer token registry notifications must carry. Optional: without
   * it the notification endpoint refuses every request and the controller relies on polling alone.
   * @default 'image-controller-notifications'
   */
  readonly notificationSecretName?: string;

  /**
   * The type of the Service for /metrics and /notifications. `NodePort` gives it a port on every node,
   * which is how a registry outside the cluster's network, such as kind's registry container, reaches
   * /notifications (scripts/kind-with-registry.sh --notifications).
   * @default 'ClusterIP'
   */
  readonly serviceType?: 'ClusterIP' | 'NodePort';

  /**
   * Container resources.
   * Measured RSS on the image's node 24: about 120 MiB with 1,000 Images, 135 MiB with 5,000 and 157 MiB with 10,000
   * (`npm run bench -- --node=24.22.3`; node 20 uses ~28 MiB less); the limit leaves room for node itself (~56 MiB of
   * it file-backed), the 128 MiB old space of CONTROLLER_NODE_OPTIONS and native memory.
   * @default requests cpu 50m and memory 128Mi, limit memory 256Mi
   */
  readonly resources?: k8s.ResourceRequirements;
}

/**
 * The image controller, installed with least privilege: a Namespace, a ServiceAccount with exactly the
 * API access the controller's calls need (CONTROLLER_RBAC, declared beside them in controller/src/kube/api.ts),
 * a hardened Deployment whose arguments are rendered from these props, and a Service for metrics and
 * registry notifications.
 *
 * Written with cdk8s' typed `k8s` objects rather than cdk8s-plus: cdk8s-plus-27 Deployments add their own
 * selector label, default resources (1 CPU / 2Gi limits) and pod settings, and its RBAC helpers grant
 * verb sets of their own choosing; here every field in the output is one that was meant.
 */
export class ImageController extends Chart {
  /** The ServiceAccount the controller runs as; RBAC is bound to it. */
  readonly serviceAccount: k8s.KubeServiceAccount;
  /** The controller's Deployment. */
  readonly deployment: k8s.KubeDeployment;
  /** The Service in front of /metrics and /notifications. */
  readonly service: k8s.KubeService;
  /** The labels of the controller's Pods, which the Deployment and the Service select. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** `image-controller`'s arguments, rendered from the props. */
  readonly args: readonly string[];

  constructor(scope: Construct, id: string, props: ImageControllerProps = {}) {
    super(scope, id);

    const namespace = props.namespace ?? IMAGE_CONTROLLER_DEFAULTS.namespace;
    const name = props.name ?? IMAGE_CONTROLLER_DEFAULTS.name;
    const image = props.image ?? IMAGE_CONTROLLER_DEFAULTS.image;
    const replicas = props.replicas ?? 1;
    const leaderElect = props.leaderElect ?? true;
    const port = props.port ?? DEFAULT_HTTP_PORT;
    const notificationSecretName = props.notificationSecretName ?? IMAGE_CONTROLLER_DEFAULTS.notificationSecretName;
    const serviceType = props.serviceType ?? 'ClusterIP';
    const resources = props.resources ?? {
      requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('128Mi') },
      limits: { memory: k8s.Quantity.fromString('256Mi') },
    };

    if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`ImageController "${id}": replicas must be a whole number, not ${replicas}`);
    if (replicas > 1 && !leaderElect) {
      throw new Error(`ImageController "${id}": replicas ${replicas} needs leaderElect: true; without the Lease every replica would check and write every Image`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`ImageController "${id}": port must be 1…65535, not ${port}`);

    // Only what differs from the controller's own defaults is rendered, so the flags' defaults stay in one place.
    const flags: Partial<RunOptions> = {
      namespace: props.watchNamespace,
      interval: props.interval?.toMilliseconds(),
      concurrency: props.concurrency,
      requestTimeout: props.requestTimeout?.toMilliseconds(),
      httpAddress: props.port === undefined ? undefined : `:${port}`,
      leaderElect: leaderElect || undefined,
      registryAlias: props.registryAliases && Object.entries(props.registryAliases).map(([from, to]) => `${from}=${to}`),
      logLevel: props.logLevel,
      allowedRegistries: props.allowedRegistries && [...props.allowedRegistries],
    };
    this.args = ['run', ...formatFlags(RUN_FLAGS, flags)];
    try {
      // The controller's own parser, with its checks: a value it would refuse at start-up is refused at synth.
      parseFlags(RUN_FLAGS, this.args.slice(1), {});
    } catch (error) {
      throw new Error(`ImageController "${id}": ${error instanceof Error ? error.message : String(error)} (rendered from its props)`);
    }

    this.podLabels = { 'app.kubernetes.io/name': name };
    const labels = this.podLabels;

    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    });

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name, namespace, labels },
    });

    if (props.watchNamespace === undefined) {
      this.#grantClusterWide(name, CONTROLLER_RBAC.watchedNamespaces);
    } else {
      this.#grant('WatchedNamespace', props.watchNamespace, name, CONTROLLER_RBAC.watchedNamespaces);
    }
    this.#grant('LocalRegistryHosting', LOCAL_REGISTRY_HOSTING.namespace, `${name}-local-registry-hosting`, CONTROLLER_RBAC.localRegistryHosting);
    if (leaderElect) this.#grant('LeaderElection', namespace, `${name}-leader-election`, CONTROLLER_RBAC.leaseNamespace);

    const http = k8s.IntOrString.fromString('http');
    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: this.serviceAccount.name,
            // The `restricted` Pod Security Standard, which the namespace also enforces.
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'controller',
                image,
                imagePullPolicy: 'Always',
                args: [...this.args],
                env: [
                  // The heap bounds the controller is measured with (the image sets the same). Set here, next to
                  // the memory limit they must fit under, and as an environment variable, so they apply whatever
                  // the image's entrypoint is and can be changed without rebuilding it.
                  { name: 'NODE_OPTIONS', value: CONTROLLER_NODE_OPTIONS },
                  ...Object.entries(CONTROLLER_ENV).map(([name, value]) => ({ name, value })),
                  // The namespace of the leader-election Lease.
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  {
                    name: 'IMAGE_CONTROLLER_NOTIFICATION_TOKEN',
                    valueFrom: { secretKeyRef: { name: notificationSecretName, key: 'token', optional: true } },
                  },
                ],
                ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
                resources,
                securityContext: {
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                },
                livenessProbe: { httpGet: { path: '/healthz', port: http } },
                readinessProbe: { httpGet: { path: '/readyz', port: http } },
              },
            ],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name, namespace, labels },
      spec: {
        type: serviceType,
        selector: labels,
        // Prometheus scrapes /metrics here, and the registry posts its notifications here.
        ports: [{ name: 'http', port, targetPort: http, protocol: 'TCP' }],
      },
    });
  }

  /** A ClusterRole with `rules`, bound to the controller's ServiceAccount. */
  #grantClusterWide(name: string, rules: readonly PolicyRule[]): void {
    const role = new k8s.KubeClusterRole(this, 'ClusterRole', { metadata: { name, labels: this.podLabels }, rules: rules.map(copy) });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name, labels: this.podLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
      subjects: [this.#subject()],
    });
  }

  /** A Role with `rules` in `namespace`, bound to the controller's ServiceAccount. */
  #grant(idPrefix: string, namespace: string, name: string, rules: readonly PolicyRule[]): void {
    const role = new k8s.KubeRole(this, `${idPrefix}Role`, { metadata: { name, namespace, labels: this.podLabels }, rules: rules.map(copy) });
    new k8s.KubeRoleBinding(this, `${idPrefix}RoleBinding`, {
      metadata: { name, namespace, labels: this.podLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [this.#subject()],
    });
  }

  #subject(): k8s.Subject {
    return { kind: 'ServiceAccount', name: this.serviceAccount.name, namespace: this.serviceAccount.metadata.namespace };
  }
}

/** A rule as the k8s API objects take it (mutable arrays). */
function copy(rule: PolicyRule): k8s.PolicyRule {
  return { apiGroups: [...rule.apiGroups], resources: [...rule.resources], resourceNames: rule.resourceNames && [...rule.resourceNames], verbs: [...rule.verbs] };
}
