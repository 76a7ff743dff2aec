import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Client } from 'pg';

export interface BackendMemory {
  /** Client backends connected to the database when measured. */
  backends: number;
  /** Sum of their private anonymous memory (RssAnon): caches, not shared buffers. */
  privateBytes: number;
  /** The largest single backend's RssAnon. */
  maxBytes: number;
}

/**
 * Private memory of the PostgreSQL backends serving one client process (its
 * pool and its job queue's), read from /proc. RssAnon rather than VmRSS: every backend maps the same shared
 * buffers, so VmRSS counts them once per backend; the catalog and relation
 * caches that grow with the schemas a connection has touched are private
 * anonymous memory. `pg_backend_memory_contexts` would be exact but only
 * reports the backend that asks. Undefined when the server is not on this
 * machine (its processes are not in /proc).
 */
export async function backendMemory(
  adminUrl: string,
  clientPid: number,
): Promise<BackendMemory | undefined> {
  const ports = localTcpPorts(clientPid);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  let pids: number[];
  try {
    const { rows } = await client.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where backend_type = 'client backend' and client_port = any($1::int[])`,
      [ports],
    );
    pids = rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
  const sizes: number[] = [];
  for (const pid of pids) {
    try {
      const kib = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (kib) sizes.push(Number(kib[1]) * 1024);
    } catch {
      // Not a process of this machine, or it just ended.
    }
  }
  if (pids.length > 0 && sizes.length === 0) return undefined;
  return {
    backends: sizes.length,
    privateBytes: sizes.reduce((sum, n) => sum + n, 0),
    maxBytes: Math.max(0, ...sizes),
  };
}

/** Local ports of the TCP sockets a process holds open: its socket inodes matched in /proc/net/tcp{,6}. */
function localTcpPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket) inodes.add(socket[1]);
    } catch {
      // closed between the listing and the read
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      // local_address is ADDRESS:PORT in hex; the inode is the tenth column.
      if (columns.length > 9 && inodes.has(columns[9])) {
        ports.push(parseInt(columns[1].split(':')[1], 16));
      }
    }
  }
  return ports;
}

export interface OwnMemory {
  /** Everything the backend has allocated (all memory contexts). */
  totalBytes: number;
  /** CacheMemoryContext and its children: the catalog and relation caches. */
  cacheBytes: number;
}

/**
 * The asking backend's own memory contexts (PostgreSQL 17+: `path` places
 * each context in the tree), exact where /proc can only see pages.
 */
export async function ownMemory(client: Client): Promise<OwnMemory> {
  const { rows } = await client.query<{ total: string; cache: string }>(
    `with c as (select * from pg_backend_memory_contexts),
          cache as (select path[level] as id, level from c where name = 'CacheMemoryContext')
     select (select sum(total_bytes) from c) as total,
            (select sum(c.total_bytes) from c, cache where c.path[cache.level] = cache.id) as cache`,
  );
  return { totalBytes: Number(rows[0].total), cacheBytes: Number(rows[0].cache) };
}
