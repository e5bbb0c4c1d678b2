import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IMAGE_GROUP, IMAGE_PLURAL } from '../controller/src/api/image.js';
import { DEFAULT_HTTP_PORT, LEASE_NAME } from '../controller/src/defaults.js';
import { CONTROLLER_NODE_OPTIONS } from '../controller/src/node-options.js';

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
   * The controller's container image (`npm run image` builds and pushes it).
   * @default 'localhost:5000/apps/controller' (the seed's)
   */
  readonly image?: string;

  /**
   * Arguments to the `image-controller` binary.
   * @default ['run', '--leader-elect']
   */
  readonly args?: string[];

  /**
   * Number of controller pods; leader election keeps all but one idle, so more than 1 only buys a faster failover.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Secret whose `token` key is the bearer token registry notifications must carry. Optional: without
   * it the notification endpoint refuses every request and the controller relies on polling alone.
   * @default 'image-controller-notifications'
   */
  readonly notificationSecretName?: string;

  /**
   * Container resources.
   * Measured RSS: about 104 MiB with 1,000 Images, 118 MiB with 5,000 and 132 MiB with 10,000 (`npm run bench`);
   * the limit leaves room for node itself (~45 MiB), the 128 MiB old space of CONTROLLER_NODE_OPTIONS and native memory.
   * @default requests cpu 50m and memory 128Mi, limit memory 256Mi
   */
  readonly resources?: k8s.ResourceRequirements;
}

/**
 * The image controller, installed with least privilege: a Namespace, a ServiceAccount with exactly the
 * API access the controller uses, a hardened Deployment and a Service for metrics and registry notifications.
 *
 * Written with cdk8s' typed `k8s` objects rather than cdk8s-plus: cdk8s-plus-27 Deployments add their own
 * selector label, default resources (1 CPU / 2Gi limits) and pod settings, and its RBAC helpers grant
 * verb sets of their own choosing; here every field in the output is one that was meant.
 */
export class ImageController extends Chart {
  constructor(scope: Construct, id: string, props: ImageControllerProps = {}) {
    super(scope, id);

    const namespace = props.namespace ?? 'image-controller-system';
    const name = props.name ?? 'image-controller';
    const image = props.image ?? 'localhost:5000/apps/controller';
    const args = props.args ?? ['run', '--leader-elect'];
    const replicas = props.replicas ?? 1;
    const notificationSecretName = props.notificationSecretName ?? 'image-controller-notifications';
    const resources = props.resources ?? {
      requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('128Mi') },
      limits: { memory: k8s.Quantity.fromString('256Mi') },
    };

    const labels = { 'app.kubernetes.io/name': name };

    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    });

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name, namespace, labels },
    });
    const subjects = [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace }];

    const clusterRole = new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name, labels },
      rules: [
        // The informer lists and watches Images in every namespace (or --namespace) and reads them on re-check.
        { apiGroups: [IMAGE_GROUP], resources: [IMAGE_PLURAL], verbs: ['get', 'list', 'watch'] },
        // Status is written with a merge patch to the status subresource, never the spec.
        { apiGroups: [IMAGE_GROUP], resources: [`${IMAGE_PLURAL}/status`], verbs: ['patch'] },
        // Events for a new digest and for failures; patch lets repeated events be counted instead of duplicated.
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        // The dockerconfigjson pull secrets and the CA Secret an Image names, read on demand by name.
        { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
        // The imagePullSecrets of an Image's spec.serviceAccountName.
        { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.name },
      subjects,
    });

    // KEP-1755: a local registry (kind's localhost:5000) says where it is reachable from inside the cluster.
    const registryHosting = new k8s.KubeRole(this, 'LocalRegistryHostingRole', {
      metadata: { name: `${name}-local-registry-hosting`, namespace: 'kube-public', labels },
      rules: [
        // Only that one ConfigMap, by name, read on demand: where the registry is reachable in the cluster.
        { apiGroups: [''], resources: ['configmaps'], resourceNames: ['local-registry-hosting'], verbs: ['get'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'LocalRegistryHostingRoleBinding', {
      metadata: { name: registryHosting.name, namespace: 'kube-public', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: registryHosting.name },
      subjects,
    });

    const leaderElection = new k8s.KubeRole(this, 'LeaderElectionRole', {
      metadata: { name: `${name}-leader-election`, namespace, labels },
      rules: [
        // The controller's Lease is read, then renewed, taken over and released by update.
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [LEASE_NAME], verbs: ['get', 'update'] },
        // The first replica creates it; RBAC cannot limit create by name, since the object does not exist yet.
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'LeaderElectionRoleBinding', {
      metadata: { name: leaderElection.name, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaderElection.name },
      subjects,
    });

    const http = k8s.IntOrString.fromString('http');
    new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: serviceAccount.name,
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
                args,
                env: [
                  // The heap bounds the controller is measured with (the image sets the same). Set here, next to
                  // the memory limit they must fit under, and as an environment variable, so they apply whatever
                  // the image's entrypoint is and can be changed without rebuilding it.
                  { name: 'NODE_OPTIONS', value: CONTROLLER_NODE_OPTIONS },
                  // The namespace of the leader-election Lease.
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  {
                    name: 'IMAGE_CONTROLLER_NOTIFICATION_TOKEN',
                    valueFrom: { secretKeyRef: { name: notificationSecretName, key: 'token', optional: true } },
                  },
                ],
                ports: [{ name: 'http', containerPort: DEFAULT_HTTP_PORT, protocol: 'TCP' }],
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

    new k8s.KubeService(this, 'Service', {
      metadata: { name, namespace, labels },
      spec: {
        selector: labels,
        // Prometheus scrapes /metrics here, and the registry posts its notifications here.
        ports: [{ name: 'http', port: DEFAULT_HTTP_PORT, targetPort: http, protocol: 'TCP' }],
      },
    });
  }
}
