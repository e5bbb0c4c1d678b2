/** Image objects for tests. */
import { IMAGE_API_VERSION, IMAGE_KIND, type Image, type ImageSpec, type ImageStatus } from '../api/image.js';

export function makeImage(name: string, spec: Partial<ImageSpec> = {}, status?: ImageStatus, namespace = 'default'): Image {
  return {
    apiVersion: IMAGE_API_VERSION,
    kind: IMAGE_KIND,
    metadata: { name, namespace, uid: `uid-${namespace}-${name}`, generation: 1, resourceVersion: '1' },
    spec: { image: 'localhost:5000/apps/demo', ...spec },
    ...(status ? { status } : {}),
  };
}

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
