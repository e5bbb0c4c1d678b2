import { App, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Workload } from '../imports/carto.run.js';
import { checkNameCollisions } from './collision-check.js';
import { appsPrefix } from './local-registry.js';
import { SupplyChain } from './supply-chain.js';

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
   * The supply chain that stamps the Workload's objects: the Workload carries its selector, and the
   * Role grants what it stamps (`supplyChain.workloadRules()`), so a resource added to it is granted too.
   * @default the seed's chain (SupplyChain's defaults)
   */
  readonly supplyChain?: SupplyChain;

  /**
   * Labels of the Workload, which select its supply chain.
   * @default the supply chain's selector
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
}

/**
 * The seed's example Workload, and the ServiceAccount Cartographer acts as when it stamps the objects of
 * the Workload's supply chain, allowed exactly those.
 */
export class DemoWorkload extends Chart {
  constructor(scope: Construct, id: string, props: DemoWorkloadProps = {}) {
    super(scope, id);

    const namespace = props.namespace ?? 'default';
    const name = props.name ?? 'demo';
    // The seed's chain, in an app of its own that is never synthesized: only what it stamps is read.
    const supplyChain = props.supplyChain ?? new SupplyChain(new App(), 'supply-chain');
    const labels = props.labels ?? { ...supplyChain.selector };
    const imagePrefix = props.imagePrefix ?? appsPrefix();
    const image = props.image;
    const serviceAccountName = props.serviceAccountName ?? 'admin';
    const roleName = props.roleName ?? 'admin-permissions';

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: serviceAccountName, namespace },
    });

    // Cartographer stamps with this account's token; it watches and deletes stamped objects with its own
    // account. (The seed granted `*` on deployments and pods; Cartographer never touches pods.) The rules
    // are read at synthesis, after every resource has been added to the chain.
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: { name: roleName, namespace },
      rules: Lazy.any({ produce: () => supplyChain.workloadRules() }),
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
    checkNameCollisions(this);
  }
}
