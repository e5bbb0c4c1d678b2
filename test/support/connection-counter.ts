/**
 * A TCP pass-through in front of a real server that counts the connections clients open through it.
 * It works below HTTP, so it adds no keep-alive policy of its own: a connection lasts exactly as long as
 * the client and the server keep it, which is what a test of connection reuse needs to see.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface ConnectionCounter {
  /** `127.0.0.1:PORT`, to use in place of the server's host. */
  host: string;
  /** Connections accepted so far. */
  readonly opened: number;
  /** Connections open now. */
  readonly open: number;
  stop(): Promise<void>;
}

export async function startConnectionCounter(upstreamHost: string): Promise<ConnectionCounter> {
  const [upstreamAddress, upstreamPort] = [upstreamHost.replace(/:\d+$/, ''), Number(upstreamHost.split(':').at(-1))];
  const sockets = new Set<Socket>();
  let opened = 0;
  const server = createServer((client) => {
    opened++;
    const upstream = connect(upstreamPort, upstreamAddress);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    get opened() {
      return opened;
    },
    get open() {
      return [...sockets].length / 2;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
