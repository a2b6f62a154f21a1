/**
 * A pid lock file: creating it exclusively claims a resource (a download, a run's output folder);
 * a lock left by a dead process is taken over. Returns the release function.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims `lock` for this process; `busy(pid)` words the error when a live process holds it. */
export function acquirePidLock(lock: string, busy: (pid: number) => string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new Error(busy(pid));
      rmSync(lock, { force: true });
    }
  }
  throw new Error(`cannot lock ${lock}`);
}
