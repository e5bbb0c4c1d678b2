/**
 * The demo's registry: kind's local registry, the seed's `localhost:5000`. The charts default to it, and
 * addSeedCharts' `registry` gives all of them another; `npm run image` and scripts/kind-with-registry.sh
 * take the address from dist/ (scripts/dist-controller-image.mjs), so dist/ is the one place it is read.
 */
export const LOCAL_REGISTRY = 'localhost:5000';

/** Where `npm run image` pushes the controller in the registry. */
export const CONTROLLER_REPOSITORY = 'apps/controller';

/**
 * The controller's image: `latest`, which `npm run image` moves with each build. With
 * `imagePullPolicy: Always` a Pod started after a build runs that build.
 */
export function controllerImage(registry = LOCAL_REGISTRY): string {
  return `${registry}/${CONTROLLER_REPOSITORY}:latest`;
}

/** The prefix the demo's apps are pushed under (the seed's `localhost:5000/apps/`); a Workload's name follows it. */
export function appsPrefix(registry = LOCAL_REGISTRY): string {
  return `${registry}/apps/`;
}
