// kube/: everything the controller says to the API server, each call beside its RBAC rule: the Image watch, status patches, Events, the Lease, and reading Secrets, ServiceAccounts and the local registry ConfigMap.
//   api.ts               the calls, each interface beside its RBAC rule, and CONTROLLER_RBAC the chart grants
//   client.ts            those calls made (REST and Watch), cachedImage, and how an API refusal reads
//   rest.ts              one REST call on plain JSON, authenticated by client-node's KubeConfig
//   shared-dispatcher.ts one undici Agent per TLS setting for every API call
//   image-watch.ts       the one list → watch → relist loop that keeps the Image cache current
//   credentials.ts       pull secrets, ServiceAccount imagePullSecrets and CA Secrets, read and cached
//   events.ts            aggregated core/v1 Events on Images
//   leader.ts            Lease-based leader election
//   local-registry.ts    KEP-1755's local-registry-hosting ConfigMap and --registry-alias
export { CONTROLLER_RBAC, LOCAL_REGISTRY_HOSTING, type EventWriter, type ImageList, type ImageStatusWriter, type ImageWatchCalls, type KubeClient, type LeaseStore, type ObjectReader, type PolicyRule, type Verb } from './api.js';
export { apiStatus, createKubeClient, describeApiError, type ApiRefusal, loadKubeConfig } from './client.js';
export { RegistryAccessCache, type RegistryAccess } from './credentials.js';
export { EventRecorder } from './events.js';
export { ImageWatch, type ImageCacheHandlers } from './image-watch.js';
export { ALWAYS_LEADER, LeaderElector, type Leadership } from './leader.js';
export { parseLocalRegistryHosting, parseRegistryAlias, RegistryEndpoints, type LocalRegistryHosting } from './local-registry.js';
