/**
 * How one Image's tag is resolved: credentials and CA from the cluster, the host to contact (registry
 * aliases), and one shared registry request for every Image asking the same thing (the registry client
 * applies the registry policy).
 */
import { createHash } from 'node:crypto';
import type { Image } from '../api/image.js';
import type { Clock } from '../clock.js';
import type { RegistryAccess } from '../kube/credentials.js';
import { allowsPlainHttp, type ImageReference, type RegistryClient } from '../registry/index.js';
import { SharedRequests } from '../shared-requests.js';
import type { Resolution } from './reconcile.js';

export interface ImageResolverOptions {
  registry: Pick<RegistryClient, 'resolveDigest'>;
  /** Credentials and CA for the Image's registry (kube/credentials.ts). */
  access(image: Image, registry: string): Promise<RegistryAccess>;
  /** The host to contact instead of the registry as named, if any (kube/local-registry.ts). */
  endpointFor(registry: string): Promise<string | undefined>;
  clock: Clock;
}

/** Resolves `reference` for `image` from a registry answer started at or after `notBefore` (epoch ms). */
export type ImageResolver = (image: Image, reference: ImageReference, notBefore: number) => Promise<Resolution>;

/** How every registry request of `image`'s check is made: its credentials and CA, the host contacted and whether plain HTTP is allowed. */
export async function registryTarget(
  options: Pick<ImageResolverOptions, 'access' | 'endpointFor'>,
  image: Image,
  reference: ImageReference,
): Promise<{ access: RegistryAccess; endpoint?: string; insecure: boolean }> {
  const access = await options.access(image, reference.registry);
  const endpoint = await options.endpointFor(reference.registry);
  return { access, endpoint, insecure: allowsPlainHttp(image.spec.insecure, reference.registry, endpoint) };
}

export function createImageResolver(options: ImageResolverOptions): ImageResolver {
  const shared = new SharedRequests<Resolution>(options.clock);
  return async (image, reference, notBefore) => {
    const { access, endpoint, insecure } = await registryTarget(options, image, reference);
    // Images share an answer only when they would send the very same request with the very same secrets,
    // named the same way: a failure's message names the Secrets it came from (or lacked an entry in).
    const key = [
      endpoint ?? reference.endpoint,
      reference.toString(),
      insecure ? 'insecure' : 'tls',
      fingerprint(access.credentials),
      fingerprint(access.caPem),
      access.credentialSource ?? '-',
    ].join('|');
    return shared.run(key, notBefore, async () => {
      const { digest, mediaType, latestImage } = await options.registry.resolveDigest(reference, { ...access, insecure, endpoint });
      return { digest, mediaType, latestImage };
    });
  };
}

/** A one-way identity of a secret value, so keys never hold credentials themselves. */
function fingerprint(value: unknown): string {
  return value === undefined ? '-' : createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}
