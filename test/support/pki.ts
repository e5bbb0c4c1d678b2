// The certificates and keys a loopback control plane needs, made with plain openssl.
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

export async function createPki(dir: string): Promise<Pki> {
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
  await openssl(['req', '-x509', ...newKey(pki.caKey), '-subj', '/CN=e2e-ca', '-out', pki.caCert]);
  await issue(pki, pki.serverCert, pki.serverKey, '/CN=kube-apiserver', [
    `subjectAltName=${SERVER_SANS}`,
    'extendedKeyUsage=serverAuth',
  ]);
  // O=system:masters is the group RBAC always allows everything.
  await issue(pki, pki.adminCert, pki.adminKey, '/O=system:masters/CN=e2e-admin', [
    'extendedKeyUsage=clientAuth',
  ]);
  await openssl(['genrsa', '-out', pki.serviceAccountKey, '2048']);
  await openssl(['rsa', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPublicKey]);
  return pki;
}

function newKey(keyFile: string): string[] {
  return ['-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-days', '7'];
}

/** A leaf certificate signed by the CA; `req -x509` would otherwise mark it CA:TRUE by default. */
async function issue(pki: Pki, cert: string, key: string, subject: string, extensions: string[]) {
  const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  const addext = [...leaf, ...extensions].flatMap((extension) => ['-addext', extension]);
  await openssl([
    'req', '-x509', ...newKey(key), '-subj', subject,
    '-CA', pki.caCert, '-CAkey', pki.caKey, ...addext, '-out', cert,
  ]);
}

function openssl(args: string[]): Promise<string> {
  return run('openssl', args);
}
