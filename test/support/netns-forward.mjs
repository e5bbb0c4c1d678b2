// The namespace half of NetworkNamespace.mirrorLoopbackPort (test/support/netns.ts): run inside the
// node's network namespace, it accepts connections on Unix sockets (which belong to the filesystem, not
// to a network namespace) and connects each to a TCP port on the namespace's own loopback.
//
//   nsenter --net=/run/netns/NAME -- node netns-forward.mjs <socket>=<port> …
import { connect, createServer } from 'node:net';
import { rmSync } from 'node:fs';

for (const route of process.argv.slice(2)) {
  const [socketPath, port] = route.split('=');
  rmSync(socketPath, { force: true });
  createServer((inbound) => {
    const outbound = connect(Number(port), '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    // One side failing (nothing listening yet, a reset) ends the pair; the client retries.
    inbound.once('error', () => outbound.destroy());
    outbound.once('error', () => inbound.destroy());
  }).listen(socketPath);
}
