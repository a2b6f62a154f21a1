// Runs a trusted reference (scipy, scikit-learn, torch) in /usr/bin/python3 at test time.
import { execFileSync } from 'node:child_process';

export const PYTHON = process.env.TORCHXFER_PYTHON ?? '/usr/bin/python3';

/** Runs `code` with the JSON of `input` as the variable `inp`; the code assigns its answer to `out`. */
export function python<T = unknown>(code: string, input: unknown): T {
  const wrapper = `import json, sys\ninp = json.loads(sys.stdin.read())\n${code}\nprint(json.dumps(out))`;
  const text = execFileSync(PYTHON, ['-c', wrapper], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  // Python's json writes NaN/Infinity as bare tokens; JSON.parse does not know them.
  return JSON.parse(
    text.replace(/-?\b(NaN|Infinity)\b/g, (m) => `"${m}"`),
    (_k, v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v),
  );
}

/** Relative-or-absolute closeness, treating equal infinities and NaN == NaN as equal. */
export function close(a: number, b: number, rel: number, abs = 0): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= Math.max(abs, rel * Math.max(Math.abs(a), Math.abs(b)));
}
