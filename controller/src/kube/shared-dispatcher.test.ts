import { KubeConfig, RequestContext, HttpMethod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shareDispatchers } from './shared-dispatcher.js';

function kubeconfig(clientCertificate: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('ca').toString('base64') }],
    users: [{ name: 'u', certData: Buffer.from(clientCertificate).toString('base64'), keyData: Buffer.from('key').toString('base64') }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return config;
}

async function dispatcherOf(config: KubeConfig) {
  const context = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  await config.applySecurityAuthentication(context);
  return context.getDispatcher();
}

describe('shareDispatchers', () => {
  it('client-node alone builds a new Agent per call (the cost shareDispatchers removes)', async () => {
    const config = kubeconfig('cert');
    expect(await dispatcherOf(config)).not.toBe(await dispatcherOf(config));
  });

  it('gives every call with the same TLS settings one Agent', async () => {
    const config = shareDispatchers(kubeconfig('cert'));
    const first = await dispatcherOf(config);
    expect(first).toBeDefined();
    expect(await dispatcherOf(config)).toBe(first);
  });

  it('builds a new Agent when a TLS setting changes (a rotated client certificate)', async () => {
    const config = shareDispatchers(kubeconfig('cert'));
    const first = await dispatcherOf(config);
    config.users[0] = { ...config.users[0]!, certData: Buffer.from('rotated').toString('base64') };
    expect(await dispatcherOf(config)).not.toBe(first);
  });
});
