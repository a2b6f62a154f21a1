/**
 * A pid lock file: creating it exclusively claims a resource (a download, a run's output folder);
 * a lock left by a dead process is taken over. Returns the release function.
 *
 * Race-free: the lock appears whole (written to a private file, then hard-linked into place, which
 * fails when the name exists), so it is never seen empty. Taking over a stale lock is itself claimed
 * with an exclusive create named after that lock's generation (inode and pid), and the winner checks
 * the generation is still in place before replacing it by rename: of two processes that both find the
 * same dead holder, one takes over and the other then sees the new, live holder.
 */
import {
  closeSync,
  fstatSync,
  linkSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';

/** One lock file's identity: its inode and the pid written in it. */
type Generation = { ino: number; pid: number };

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's inode and the pid written in it (NaN when unreadable), read through one descriptor. */
function readLock(lock: string): Generation | undefined {
  let fd: number;
  try {
    fd = openSync(lock, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(32);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('latin1').trim();
    return { ino: fstatSync(fd).ino, pid: /^\d{1,10}$/.test(text) ? Number(text) : NaN };
  } finally {
    closeSync(fd);
  }
}

/** How long a process waits for another one's takeover of a dead holder's lock to finish. */
const TAKEOVER_WAIT_MS = 5000;
const pause = new Int32Array(new SharedArrayBuffer(4));

const holds = (pid: number) => Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid);

/** Claims `lock` for this process; `busy(pid)` words the error when a live process holds it. */
export function acquirePidLock(lock: string, busy: (pid: number) => string): () => void {
  const mine = `${lock}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(mine, String(process.pid), { flag: 'wx' });
  try {
    // Another process's takeover lasts a few system calls, unless it is descheduled meanwhile: wait for it.
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(mine, lock);
        const { ino } = statSync(lock);
        return () => releaseLock(lock, ino);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = readLock(lock);
      if (!held) continue; // released meanwhile: try again
      if (held.pid === process.pid) throw new Error(`cannot lock ${lock}: this process already holds it`);
      if (holds(held.pid)) throw new Error(busy(held.pid));
      const ino = takeOver(lock, held, mine);
      if (typeof ino === 'number') return () => releaseLock(lock, ino);
      if (Date.now() > deadline) {
        throw new Error(
          `cannot lock ${lock}: its dead holder (pid ${held.pid}) is being replaced by another process; if none is, delete ${lock} and ${claimOf(lock, held)}`,
        );
      }
      if (ino === 'claimed') Atomics.wait(pause, 0, 0, Math.min(20, 1 + attempt));
    }
  } finally {
    rmSync(mine, { force: true });
  }
}

const claimOf = (lock: string, g: Generation) => `${lock}.takeover-${g.ino}-${g.pid}`;
const sameGeneration = (a: Generation, b: Generation) =>
  a.ino === b.ino && (a.pid === b.pid || (Number.isNaN(a.pid) && Number.isNaN(b.pid)));

/**
 * Replaces the stale generation `stale` by ours: the new lock's inode, or 'claimed' when another
 * process is taking it over, 'changed' when it is no longer there (both: look again).
 */
function takeOver(lock: string, stale: Generation, mine: string): number | 'claimed' | 'changed' {
  const claim = claimOf(lock, stale);
  try {
    writeFileSync(claim, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return 'claimed';
  }
  try {
    const now = readLock(lock);
    if (!now || !sameGeneration(now, stale)) return 'changed';
    const next = `${mine}.next`;
    linkSync(mine, next);
    renameSync(next, lock);
    return statSync(lock).ino;
  } finally {
    rmSync(claim, { force: true });
  }
}

/** Removes the lock only while it is still the one this process created. */
function releaseLock(lock: string, ino: number): void {
  const now = readLock(lock);
  if (now && now.ino === ino && now.pid === process.pid) rmSync(lock, { force: true });
}
