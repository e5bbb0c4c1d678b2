/**
 * What a node test could leave on the host, outside the directories it removes: containers (podman's
 * and buildah's), mounts, network namespaces, iptables rules and chains, `net.ipv4.ip_forward`, and
 * processes of the daemons the tests start. Taken before and after a run; whatever is new afterwards
 * was left behind.
 *
 *   const before = await hostState();
 *   …
 *   expect(leftBehind(before, await hostState())).toEqual([]);
 */
import { readdirSync, readFileSync } from 'node:fs';
import { commandLineOf } from './netns.js';
import { run } from './processes.js';

export interface HostState {
  containers: string[];
  mounts: string[];
  namespaces: string[];
  /** `iptables-save` lines (tables, chains with their policy, rules) without packet counters. */
  iptables: string[];
  ipForward: string;
  processes: string[];
}

/** The daemons the node tests and the image build start, by executable name. */
const DAEMONS = new Set([
  'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubelet', 'cartographer',
  'docker-registry', 'containerd', 'containerd-shim-runc-v2', 'runc', 'conmon', 'podman', 'buildah', 'image-controller',
]);

export async function hostState(): Promise<HostState> {
  const [containers, namespaces, iptables] = await Promise.all([
    run('podman', ['ps', '--all', '--external', '--format', '{{.ID}} {{.Image}} {{.Names}}']),
    run('ip', ['netns', 'list']),
    run('iptables-save', []),
  ]);
  return {
    containers: lines(containers),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4]).filter(Boolean),
    namespaces: lines(namespaces).map((line) => line.split(' ')[0]),
    iptables: lines(iptables)
      .filter((line) => !line.startsWith('#'))
      .map((line) => line.replace(/ \[\d+:\d+\]$/, '')),
    ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
    processes: readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
      .map((pid) => ({ pid, commandLine: commandLineOf(pid) }))
      .filter(({ commandLine }) => DAEMONS.has(commandLine[0]?.split('/').pop() ?? ''))
      .map(({ pid, commandLine }) => `${pid} ${commandLine.join(' ')}`),
  };
}

/** What `after` has that `before` had not, one line each, e.g. `mount /tmp/e2e-node-x/…`. */
export function leftBehind(before: HostState, after: HostState): string[] {
  const added = (kind: string, was: string[], now: string[]) => now.filter((item) => !was.includes(item)).map((item) => `${kind} ${item}`);
  return [
    ...added('container', before.containers, after.containers),
    ...added('mount', before.mounts, after.mounts),
    ...added('network namespace', before.namespaces, after.namespaces),
    ...added('iptables', before.iptables, after.iptables),
    ...(after.ipForward === before.ipForward ? [] : [`net.ipv4.ip_forward ${before.ipForward} → ${after.ipForward}`]),
    ...added('process', before.processes, after.processes),
  ];
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}
