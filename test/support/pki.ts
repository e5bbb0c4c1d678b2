// Certificates and keys for loopback servers, made with plain openssl: the control plane's whole PKI,
// and the CA-signed or self-signed certificates other test servers (the registry, its token issuer) need.
import { join } from 'node:path';
import { run } from './processes.js';

export interface Pki {
  caCert: string;
  caKey: string;
  /** kube-apiserver's serving certificate and key. */
  serverCert: string;
  serverKey: string;
  /** A client certificate in group system:masters, for the admin kubeconfig. */
  adminCert: string;
  adminKey: string;
  /** RSA key pair that signs and verifies ServiceAccount tokens. */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

/** Names the apiserver is reached by: loopback for us, the in-cluster names for what it hands out. */
const SERVER_SANS = 'IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc,DNS:kubernetes';

/** A certificate and its private key, as files. */
export interface CertificateFiles {
  cert: string;
  key: string;
}

/** `extraSans` (`IP:10.250.0.1`) adds names the apiserver is also reached by, such as a node's address. */
export async function createPki(dir: string, extraSans: string[] = []): Promise<Pki> {
  const pki: Pki = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
  };
  const ca = await selfSignedCertificate({ cert: pki.caCert, key: pki.caKey }, '/CN=e2e-ca');
  await issueCertificate(ca, { cert: pki.serverCert, key: pki.serverKey }, '/CN=kube-apiserver', [
    `subjectAltName=${[SERVER_SANS, ...extraSans].join(',')}`,
    'extendedKeyUsage=serverAuth',
  ]);
  // O=system:masters is the group RBAC always allows everything.
  await issueCertificate(ca, { cert: pki.adminCert, key: pki.adminKey }, '/O=system:masters/CN=e2e-admin', [
    'extendedKeyUsage=clientAuth',
  ]);
  await openssl(['genrsa', '-out', pki.serviceAccountKey, '2048']);
  await openssl(['rsa', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPublicKey]);
  return pki;
}

function newKey(keyFile: string): string[] {
  return ['-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-days', '7'];
}

/** A self-signed certificate with a new key: a CA, or a signing certificate that stands alone. */
export async function selfSignedCertificate(files: CertificateFiles, subject: string): Promise<CertificateFiles> {
  await openssl(['req', '-x509', ...newKey(files.key), '-subj', subject, '-out', files.cert]);
  return files;
}

/** A leaf certificate with a new key, signed by `ca`; `req -x509` would otherwise mark it CA:TRUE by default. */
export async function issueCertificate(ca: CertificateFiles, files: CertificateFiles, subject: string, extensions: string[]): Promise<CertificateFiles> {
  const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  const addext = [...leaf, ...extensions].flatMap((extension) => ['-addext', extension]);
  await openssl(['req', '-x509', ...newKey(files.key), '-subj', subject, '-CA', ca.cert, '-CAkey', ca.key, ...addext, '-out', files.cert]);
  return files;
}

function openssl(args: string[]): Promise<string> {
  return run('openssl', args);
}
