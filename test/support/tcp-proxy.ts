import { createServer, Server, Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of PostgreSQL, so a test can take the database
 * away from the app: `cut()` drops every connection and refuses new ones;
 * `blackhole()` accepts connections but never answers (a hung server).
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** Connections accepted while black-holed: never answered, never forwarded. */
  private readonly held = new Set<Socket>();
  private mode: 'pass' | 'refuse' | 'blackhole' = 'pass';
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.track(client);
      if (this.mode === 'refuse') return client.destroy();
      if (this.mode === 'blackhole') {
        this.held.add(client);
        client.on('close', () => this.held.delete(client));
        return;
      }
      const upstream = new Socket();
      this.track(upstream);
      upstream.connect(this.targetPort, this.targetHost);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** The URL to give the app instead of `url`. */
  urlFor(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(this.port);
    return proxied.toString();
  }

  cut(): void {
    this.mode = 'refuse';
    for (const socket of this.sockets) socket.destroy();
  }

  blackhole(): void {
    this.cut();
    this.mode = 'blackhole';
  }

  /**
   * The database is reachable again. Connections accepted while black-holed
   * are reset, as a real network recovery resets them sooner or later; left
   * open they would hang their client (and its shutdown) until the test ends.
   */
  restore(): void {
    this.mode = 'pass';
    for (const socket of this.held) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
