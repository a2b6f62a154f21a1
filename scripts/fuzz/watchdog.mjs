// A resident-memory watchdog without cgroups: polls a child's VmRSS (/proc/PID/status) and kills it the
// moment it passes a limit, so a reader that balloons fails the run instead of passing (or taking the
// machine down) . Where /proc is absent the child runs unwatched and only its own maxRSS report counts.
import { readFileSync } from 'node:fs';

/** Resident set size of `pid` in KiB, or undefined when it cannot be read (exited, no /proc). */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Watches `child` (a ChildProcess) every `intervalMs`: above `limitMiB` it is killed with SIGKILL.
 * Returns { peakKiB(), killed() , stop() }; the watch stops by itself when the child exits.
 */
export function watchRss(child, limitMiB, intervalMs = 25) {
  let peak = 0;
  let killed = false;
  const timer = setInterval(() => {
    const kib = rssKiB(child.pid);
    if (kib === undefined) return;
    peak = Math.max(peak, kib);
    if (kib > limitMiB * 1024 && !killed) {
      killed = true;
      child.kill('SIGKILL');
    }
  }, intervalMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  child.once('exit', stop);
  return { peakKiB: () => peak, killed: () => killed, stop };
}
