/** Runs the reference Python (/usr/bin/python3 with numpy, pydicom, scikit-image...) at test time. */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.TORCHXFER_PYTHON ?? '/usr/bin/python3';
export const helpersDir = dirname(fileURLToPath(import.meta.url));

/** Runs a Python script (code or a helper file name) with stdin, returns parsed JSON stdout. */
export function python<T = unknown>(code: string, args: string[] = [], input = ''): T {
  const isFile = code.endsWith('.py') && !code.includes('\n');
  const argv = isFile ? [join(helpersDir, code), ...args] : ['-c', code, ...args];
  const out = execFileSync(PYTHON, argv, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as T;
}
