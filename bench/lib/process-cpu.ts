import { readFileSync } from 'node:fs';

/**
 * CPU time a process has used so far (user + system, ms), from
 * /proc/<pid>/stat (Linux). Divided by the requests served in between, it
 * gives CPU per request: unlike req/s, it barely moves when other work shares
 * the machine, so it says what a request costs even on a busy one.
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux we run on
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}
