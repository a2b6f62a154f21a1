/** Axis scales and "nice" tick positions (1-2-5 steps on linear axes, decades on log axes). */

export interface Scale {
  /** Maps a data value to a pixel coordinate. */
  map(v: number): number;
  ticks: number[];
  domain: [number, number];
  log: boolean;
}

/** A step from {1, 2, 5} x 10^k giving about `count` intervals over `span`. */
export function niceStep(span: number, count = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const tol = 1 + 1e-9; // float noise such as 2.0000000000000004
  return (r <= tol ? 1 : r <= 2 * tol ? 2 : r <= 5 * tol ? 5 : 10) * mag;
}

/** Widens [lo, hi] to multiples of a nice step (a degenerate range gets a unit of room around it). */
export function niceDomain(lo: number, hi: number, count = 5): [number, number] {
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

export function linearTicks(lo: number, hi: number, count = 5): number[] {
  const step = niceStep(hi - lo, count);
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(roundTo(k * step, step));
  return out;
}

/** Decades within [lo, hi]; when the range spans under two decades, 2x and 5x are added. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo) + 1e-9);
  const b = Math.ceil(Math.log10(hi) - 1e-9);
  const mults = Math.log10(hi / lo) <= 2.5 ? [1, 2, 5] : [1];
  const step = Math.max(1, Math.ceil((b - a) / 8)); // at most ~8 decade labels
  const out: number[] = [];
  for (let e = a; e <= b; e += mults.length > 1 ? 1 : step) {
    for (const m of mults) {
      const v = m * 10 ** e;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(Number(v.toPrecision(12)));
    }
  }
  return out;
}

export function makeScale(lo: number, hi: number, pixLo: number, pixHi: number, log: boolean, nice: boolean): Scale {
  if (log) {
    if (lo === hi) {
      lo /= 10;
      hi *= 10;
    }
    if (nice) {
      // Under two decades, round out to 1-2-5 values instead of whole decades (less empty space).
      const short = Math.log10(hi / lo) < 2;
      lo = short ? niceLogBound(lo, 'down') : 10 ** Math.floor(Math.log10(lo) + 1e-9);
      hi = short ? niceLogBound(hi, 'up') : 10 ** Math.ceil(Math.log10(hi) - 1e-9);
    }
    const l0 = Math.log10(lo);
    const l1 = Math.log10(hi);
    return {
      map: (v) => pixLo + ((Math.log10(v) - l0) / (l1 - l0)) * (pixHi - pixLo),
      ticks: logTicks(lo, hi),
      domain: [lo, hi],
      log,
    };
  }
  if (nice) [lo, hi] = niceDomain(lo, hi);
  else if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  return {
    map: (v) => pixLo + ((v - lo) / (hi - lo)) * (pixHi - pixLo),
    ticks: linearTicks(lo, hi),
    domain: [lo, hi],
    log,
  };
}

/**
 * Tick labels for one axis, in one notation: exponents ("1e-3", "2.5e-4") on log axes and when the
 * ticks are tiny or huge, plain decimals otherwise.
 */
export function formatTicks(ticks: number[], log: boolean): string[] {
  const big = Math.max(...ticks.map(Math.abs));
  const exp = log || big >= 1e5 || (big > 0 && big < 1e-2);
  return ticks.map((v) => formatTick(v, exp));
}

export function formatTick(v: number, exponent: boolean): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (exponent && !(abs >= 1 && abs <= 1e4 && Number.isInteger(v))) {
    const e = Math.floor(Math.log10(abs) + 1e-9);
    const m = Number((v / 10 ** e).toPrecision(3));
    return m === 1 ? `1e${e}` : `${m}e${e}`;
  }
  return String(Number(v.toPrecision(6)));
}

function roundTo(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, digits)));
}

function niceLogBound(v: number, dir: 'up' | 'down'): number {
  const e = Math.floor(Math.log10(v) + 1e-9);
  const cands = [1, 2, 5, 10].map((m) => Number((m * 10 ** e).toPrecision(12)));
  return dir === 'down'
    ? [...cands].reverse().find((c) => c <= v * (1 + 1e-9))!
    : cands.find((c) => c >= v * (1 - 1e-9))!;
}
