/**
 * A TCP pass-through in front of the registry that counts the connections it accepts: each one is
 * piped to a connection of its own to the registry, byte for byte, so the controller's reuse of
 * connections (or lack of it) is exactly what the registry sees, and a count of accepted connections is
 * a count of the controller's new registry connections.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface ConnectionCounter {
  /** `127.0.0.1:PORT`: the registry part of image references that go through the counter. */
  host: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  stop(): Promise<void>;
}

export async function startConnectionCounter(upstreamHost: string): Promise<ConnectionCounter> {
  const [upstreamHostname, upstreamPort] = upstreamHost.split(':');
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    clients.add(client);
    client.on('close', () => clients.delete(client));
    const upstream = connect(Number(upstreamPort), upstreamHostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // Either side going away ends the pair; the error itself is the controller's to see, not ours.
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return clients.size;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
