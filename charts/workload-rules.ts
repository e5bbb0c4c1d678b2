// What a Workload's ServiceAccount must be allowed for Cartographer to stamp a chain's objects, and the
// synth-time check of the RBAC an app grants it. Cartographer stamps each object as the Workload's
// ServiceAccount (pkg/realizer in Cartographer v0.8.11), so a kind missing from its Role is found only
// when a Workload is stamped, and then that Workload fails.
import { ApiObject } from 'cdk8s';
import { type IApiResource, type k8s } from 'cdk8s-plus-27';
import { type IConstruct } from 'constructs';

/** Cartographer stamps a mutable template's object by a get, then a create or a merge patch. */
export const STAMP_VERBS = ['get', 'create', 'patch'] as const;

/** The ServiceAccount Cartographer uses for a Workload that names none (and a chain that names none). */
const DEFAULT_SERVICE_ACCOUNT = 'default';

/**
 * The API resource of an object, from its apiVersion and kind, pluralized as Kubernetes does when it
 * has nothing better (`UnsafeGuessKindToResource`): `Ingress` → `ingresses`, `NetworkPolicy` →
 * `networkpolicies`. The built-in kinds and the Image all follow it.
 */
export function apiResourceOf(object: { apiVersion: string; kind: string }): IApiResource {
  const singular = object.kind.toLowerCase();
  const resourceType = singular.endsWith('endpoints')
    ? singular
    : singular.endsWith('s')
      ? `${singular}es`
      : singular.endsWith('y')
        ? `${singular.slice(0, -1)}ies`
        : `${singular}s`;
  return { apiGroup: groupOf(object.apiVersion), resourceType };
}

/** One rule per stamped API resource, in a stable order (by group, then resource), whatever the order of the chain. */
export function stampRules(resources: readonly IApiResource[]): k8s.PolicyRule[] {
  const unique = new Map(resources.map((resource) => [`${resource.apiGroup}/${resource.resourceType}`, resource]));
  return [...unique.values()]
    .sort((a, b) => a.apiGroup.localeCompare(b.apiGroup) || a.resourceType.localeCompare(b.resourceType))
    .map((resource) => ({ apiGroups: [resource.apiGroup], resources: [resource.resourceType], verbs: [...STAMP_VERBS] }));
}

/** The chain the check is run for. */
export interface StampingChain {
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly stamped: readonly IApiResource[];
}

type Json = { [key: string]: any };

/**
 * One message per Workload in the app that `chain` selects whose ServiceAccount, as the app's Roles and
 * bindings grant it, may not stamp every kind the chain stamps. A ServiceAccount the app binds no role
 * to, or binds a role the app does not hold, is granted elsewhere and not checked.
 */
export function unpermittedStampErrors(app: IConstruct, chain: StampingChain): string[] {
  const objects = app.node
    .findAll()
    .filter((construct) => ApiObject.isApiObject(construct))
    .filter((object) => ['Workload', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(object.kind))
    .map((object) => object.toJson() as Json);
  const errors: string[] = [];
  for (const workload of objects.filter((object) => object.kind === 'Workload' && groupOf(object.apiVersion) === 'carto.run')) {
    const labels: Record<string, string> = workload.metadata?.labels ?? {};
    if (!Object.entries(chain.selector).every(([key, value]) => labels[key] === value)) continue;
    const namespace: string | undefined = workload.metadata?.namespace;
    const account: string = workload.spec?.serviceAccountName ?? DEFAULT_SERVICE_ACCOUNT;
    const roles = rolesBoundTo(objects, account, namespace);
    if (roles === undefined) continue;
    const missing = chain.stamped.filter((resource) => !roles.some((role) => (role.rules ?? []).some((rule: Json) => grantsStamping(rule, resource))));
    if (missing.length === 0) continue;
    const names = roles.map((role) => `${role.kind} "${role.metadata.name}"`).join(', ');
    errors.push(
      `Workload "${workload.metadata.name}"${namespace ? ` in namespace "${namespace}"` : ''} is stamped by supply chain "${chain.name}" as ` +
        `ServiceAccount "${account}", whose ${names} ${roles.length === 1 ? 'does' : 'do'} not allow ${STAMP_VERBS.join(', ')} on ` +
        `${missing.map(describe).join(', ')}: Cartographer would be refused when it stamps them; grant supplyChain.workloadRules() ` +
        '(DemoWorkload does for its supplyChain)',
    );
  }
  return errors;
}

/** The Roles and ClusterRoles the app binds to the ServiceAccount, or undefined when the app does not hold them all. */
function rolesBoundTo(objects: Json[], account: string, namespace: string | undefined): Json[] | undefined {
  const bindings = objects.filter(
    (binding) =>
      (binding.kind === 'ClusterRoleBinding' || (binding.kind === 'RoleBinding' && binding.metadata?.namespace === namespace)) &&
      (binding.subjects ?? []).some(
        (subject: Json) => subject.kind === 'ServiceAccount' && subject.name === account && (subject.namespace ?? binding.metadata?.namespace) === namespace,
      ),
  );
  if (bindings.length === 0) return undefined;
  const roles = bindings.map((binding) =>
    objects.find(
      (role) =>
        role.kind === binding.roleRef.kind &&
        role.metadata?.name === binding.roleRef.name &&
        (role.kind === 'ClusterRole' || role.metadata?.namespace === binding.metadata?.namespace),
    ),
  );
  return roles.every((role) => role !== undefined) ? [...new Set(roles)] : undefined;
}

function grantsStamping(rule: Json, resource: IApiResource): boolean {
  const has = (list: string[] | undefined, item: string) => (list ?? []).includes(item) || (list ?? []).includes('*');
  // A rule limited to some names cannot grant create, whose request names no object.
  return (
    !rule.resourceNames?.length &&
    has(rule.apiGroups, resource.apiGroup) &&
    has(rule.resources, resource.resourceType) &&
    STAMP_VERBS.every((verb) => has(rule.verbs, verb))
  );
}

function describe(resource: IApiResource): string {
  return resource.apiGroup ? `${resource.resourceType}.${resource.apiGroup}` : resource.resourceType;
}

/** The API group of an apiVersion: `apps` of `apps/v1`, '' (the core group) of `v1`. */
function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}
