// kube/: everything the controller says to the API server, each call beside its RBAC rule: the Image watch, status patches, Events, the Lease, and reading Secrets, ServiceAccounts and the local registry ConfigMap.
export { CONTROLLER_RBAC, LOCAL_REGISTRY_HOSTING, type EventWriter, type ImageList, type ImageStatusWriter, type ImageWatchCalls, type KubeClient, type LeaseStore, type ObjectReader, type PolicyRule, type Verb } from './api.js';
export { apiStatus, createKubeClient, describeApiError, type ApiRefusal, loadKubeConfig } from './client.js';
export { RegistryAccessCache, type RegistryAccess } from './credentials.js';
export { EventRecorder } from './events.js';
export { ImageWatch, type ImageCacheHandlers } from './image-watch.js';
export { ALWAYS_LEADER, LeaderElector, type Leadership } from './leader.js';
export { parseLocalRegistryHosting, parseRegistryAlias, RegistryEndpoints, type LocalRegistryHosting } from './local-registry.js';
