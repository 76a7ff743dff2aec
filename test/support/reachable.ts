import { Socket } from 'node:net';

/** Whether something accepts TCP connections at `url`'s host and port (default `defaultPort`) within 500 ms. */
export function reachable(url: string, defaultPort = 6379): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket
      .once('connect', () => resolve(true))
      .once('error', () => resolve(false))
      .once('timeout', () => resolve(false));
    socket.connect(Number(port || defaultPort), hostname, () => socket.end());
  });
}
