// CPU seconds of a process, from /proc (Linux): its own threads, plus the children it has reaped
// (a `lame` child's time lands in the parent's cutime/cstime once it exits). 10 ms resolution.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on every Linux ABI Node ships for

export interface CpuSeconds {
  self: number;
  children: number;
}

export function cpuSeconds(pid: number | 'self' = 'self'): CpuSeconds {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) in ")": state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]);
  return {
    self: (at(14) + at(15)) / TICKS_PER_SECOND,
    children: (at(16) + at(17)) / TICKS_PER_SECOND,
  };
}

/** Peak resident set ("high water mark") of a process, in bytes. */
export function peakRssBytes(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kib ?? 0) * 1024;
}

/** Current resident set of a process, in bytes. */
export function rssBytes(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kib ?? 0) * 1024;
}

/** CPU seconds of a process's threads whose name starts with `prefix` (Linux thread names, 15 chars). */
export function threadCpuSeconds(pid: number, prefix: string): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith(prefix)) continue;
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[14 - 3]) + Number(fields[15 - 3])) / TICKS_PER_SECOND;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total;
}
