/**
 * HTML text and attribute escaping: every value the report prints goes through here, numbers too (a
 * results database may come from anyone, and its columns hold whatever it was given).
 */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function fmt(v: number, digits = 4): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}

export function fmtP(p: number): string {
  return Number.isFinite(p) ? (p < 1e-4 ? p.toExponential(2) : p.toFixed(4)) : '–';
}
