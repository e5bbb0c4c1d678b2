// The synth-time check that no two charts of an app write different objects of one kind and name:
// `kubectl apply -f dist/` would apply both, and the later would silently replace the earlier. Cluster-
// scoped objects (a chain's templates, the ClusterSupplyChain, the CRD, a ClusterRole) collide across
// namespaces too, so a second chain with a default template name breaks the first chain's Workloads.
import { ApiObject, Chart } from 'cdk8s';
import { type IConstruct } from 'constructs';

/** The charts whose validation runs the check; each collision is reported once, by one of them. */
const checkingCharts = new WeakSet<Chart>();
/** For an object whose name comes from a prop, which prop: the message says what to change. */
const nameProps = new WeakMap<ApiObject, string>();

/** Makes the chart's validation report the app's collisions that fall to it (see `reporterOf`). */
export function checkNameCollisions(chart: Chart): void {
  checkingCharts.add(chart);
  chart.node.addValidation({ validate: () => collisionErrors(chart) });
}

/** Records that the object's name is the prop `prop`, e.g. `imageTemplateName`, for the message. */
export function nameSetBy(object: ApiObject, prop: string): void {
  nameProps.set(object, prop);
}

interface Collision {
  readonly earlier: ApiObject;
  readonly later: ApiObject;
}

function collisionErrors(chart: Chart): string[] {
  const root = chart.node.root;
  const objects = root.node.findAll().filter((construct): construct is ApiObject => ApiObject.isApiObject(construct));
  const byKey = new Map<string, ApiObject[]>();
  for (const object of objects) {
    const key = [object.apiGroup, object.kind, object.metadata.namespace ?? '', object.name].join('/');
    byKey.set(key, [...(byKey.get(key) ?? []), object]);
  }
  const collisions: Collision[] = [...byKey.values()].flatMap(([earlier, ...later]) =>
    later.filter((object) => !sameJson(earlier, object)).map((object) => ({ earlier, later: object })),
  );
  return collisions.filter((collision) => reporterOf(collision, root) === chart).map(describe);
}

/**
 * The chart that reports a collision: the later object's, else the earlier's, else the app's first
 * checking chart (two charts of the user's own collide).
 */
function reporterOf({ earlier, later }: Collision, root: IConstruct): Chart | undefined {
  const candidates = [Chart.of(later), Chart.of(earlier), ...root.node.findAll().filter(Chart.isChart)];
  return candidates.find((chart) => checkingCharts.has(chart));
}

function describe({ earlier, later }: Collision): string {
  const namespace = later.metadata.namespace;
  const what = `${later.kind} "${later.name}"${namespace ? ` in namespace "${namespace}"` : ''}`;
  const [first, second] = [Chart.of(earlier), Chart.of(later)];
  const writers = first === second ? `chart "${first.node.path}" twice` : `charts "${first.node.path}" and "${second.node.path}"`;
  const prop = nameProps.get(later) ?? nameProps.get(earlier);
  return (
    `${what} is written by ${writers}, with different contents: applied together, the later replaces the earlier and ` +
    `breaks what relies on it; give one of them another name${prop ? ` (${prop})` : ''}`
  );
}

/** Whether two objects synthesize alike (then writing both is harmless). An object that cannot synthesize differs. */
function sameJson(a: ApiObject, b: ApiObject): boolean {
  try {
    return JSON.stringify(a.toJson()) === JSON.stringify(b.toJson());
  } catch {
    return false;
  }
}
