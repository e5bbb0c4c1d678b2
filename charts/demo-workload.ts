import { Chart } from 'cdk8s';
import { ApiResource, k8s, type IApiResource } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IMAGE_GROUP, IMAGE_PLURAL } from '../controller/src/api/image.js';
import { Workload } from '../imports/carto.run.js';

export interface DemoWorkloadProps {
  /**
   * Namespace of the Workload, its ServiceAccount and RBAC.
   * @default 'default' (as in the seed)
   */
  readonly namespace?: string;

  /**
   * Name of the Workload, and so of the Image and Deployment stamped for it.
   * @default 'demo'
   */
  readonly name?: string;

  /**
   * Labels that select the supply chain.
   * @default { 'app.tanzu.vmware.com/workload-type': 'web' }
   */
  readonly labels?: Record<string, string>;

  /**
   * Prefix of the image to deploy: the supply chain appends the Workload's name.
   * @default 'localhost:5000/apps/' (so the seed's `localhost:5000/apps/demo`)
   */
  readonly imagePrefix?: string;

  /**
   * Cartographer's `spec.image`: the image to deploy, instead of the prefix plus the name.
   * @default unset
   */
  readonly image?: string;

  /**
   * ServiceAccount Cartographer stamps the Image and the Deployment with.
   * @default 'admin'
   */
  readonly serviceAccountName?: string;

  /**
   * Name of the Role and RoleBinding that give that ServiceAccount its permissions.
   * @default 'admin-permissions'
   */
  readonly roleName?: string;

  /**
   * The kinds the supply chain stamps for the Workload, which its ServiceAccount may get, create and
   * patch; add `ApiResource.SERVICES` and the like for a customized chain.
   * @default Deployments and Images, what the seed's chain stamps
   */
  readonly stampedResources?: IApiResource[];
}

/**
 * The seed's example Workload, and the ServiceAccount Cartographer acts as when it stamps the Workload's
 * Image and Deployment.
 */
export class DemoWorkload extends Chart {
  constructor(scope: Construct, id: string, props: DemoWorkloadProps = {}) {
    super(scope, id);

    const namespace = props.namespace ?? 'default';
    const name = props.name ?? 'demo';
    const labels = props.labels ?? { 'app.tanzu.vmware.com/workload-type': 'web' };
    const imagePrefix = props.imagePrefix ?? 'localhost:5000/apps/';
    const image = props.image;
    const serviceAccountName = props.serviceAccountName ?? 'admin';
    const roleName = props.roleName ?? 'admin-permissions';
    const stampedResources = props.stampedResources ?? [
      ApiResource.DEPLOYMENTS,
      ApiResource.custom({ apiGroup: IMAGE_GROUP, resourceType: IMAGE_PLURAL }),
    ];

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: serviceAccountName, namespace },
    });

    // Cartographer stamps a mutable template's object with this account's token by a get, then a create
    // or a merge patch; it watches and deletes stamped objects with its own account. (The seed granted `*`
    // on deployments and pods; Cartographer never touches pods.)
    const stampVerbs = ['get', 'create', 'patch'];
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: { name: roleName, namespace },
      rules: stampedResources.map((resource) => ({ apiGroups: [resource.apiGroup], resources: [resource.resourceType], verbs: stampVerbs })),
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: roleName, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace }],
    });

    new Workload(this, 'Workload', {
      metadata: { name, namespace, labels },
      spec: {
        serviceAccountName: serviceAccount.name,
        image,
        params: [{ name: 'image_prefix', value: imagePrefix }],
      },
    });
  }
}
