/**
 * How one Image's digest is checked for a signature: its authorities loaded from the Secrets in its
 * namespace, and the repository read (only when no verdict is remembered) with the same credentials,
 * host and registry policy as its tag's resolution (the registry client applies the policy).
 */
import { imageNamespace, type Image } from '../api/image.js';
import { CredentialsError, type ImageReference, type RegistryClient } from '../registry/index.js';
import { authoritySecret, loadAuthority, TrustError, type SecretData, type SignatureVerifier, type Verdict, type VerificationPolicy } from '../signatures/index.js';
import { registryTarget, type ImageResolverOptions } from './resolver.js';

export interface SignatureCheckOptions extends Pick<ImageResolverOptions, 'access' | 'endpointFor'> {
  registry: Pick<RegistryClient, 'readRepository'>;
  /** The data of a Secret in the Image's namespace, undefined when it does not exist (kube/credentials.ts). */
  secretData(namespace: string, name: string, origin: string): Promise<SecretData>;
  verifier: SignatureVerifier;
}

/** Whether `digest` of `reference` carries a signature that verifies under `policy`'s authorities. */
export type SignatureCheck = (image: Image, reference: ImageReference, digest: string, policy: VerificationPolicy) => Promise<Verdict>;

export function createSignatureCheck(options: SignatureCheckOptions): SignatureCheck {
  return async (image, reference, digest, policy) => {
    const namespace = imageNamespace(image);
    const authorities = [];
    for (const { spec, identities } of policy.authorities) {
      const secret = authoritySecret(spec);
      let data: SecretData;
      try {
        data = await options.secretData(namespace, secret, `spec.verification authority "${spec.name}"`);
      } catch (error) {
        // Forbidden or unreachable: the same words, as a trust problem (the last verified digest stays).
        if (error instanceof CredentialsError) throw new TrustError(error.message);
        throw error;
      }
      authorities.push(loadAuthority(spec, identities, data));
    }
    const repository = `${reference.registry}/${reference.repository}`;
    return options.verifier.verify(
      async (work) => {
        const { access, endpoint, insecure } = await registryTarget(options, image, reference);
        return options.registry.readRepository(reference, { ...access, insecure, endpoint }, work);
      },
      repository,
      digest,
      authorities,
    );
  };
}
