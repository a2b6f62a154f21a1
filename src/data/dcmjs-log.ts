/** dcmjs warns about odd files through its own logger without saying which file: these name it. */
import dcmjs from 'dcmjs';

/** Runs `fn` (synchronous dcmjs work on `path`) with dcmjs's warnings and errors prefixed by the file. */
export function withFileInLog<T>(path: string, fn: () => T): T {
  const log = dcmjs.log;
  const { warn, error } = log;
  log.warn = (...args: unknown[]) => console.warn(`${path}: (dcmjs)`, ...args);
  log.error = (...args: unknown[]) => console.error(`${path}: (dcmjs)`, ...args);
  try {
    return fn();
  } finally {
    log.warn = warn;
    log.error = error;
  }
}
