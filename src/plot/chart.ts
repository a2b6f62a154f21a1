/**
 * A small dependency-free SVG chart: line series with optional shaded bands, linear or log axes with
 * nice ticks, a legend, a title, axis labels and vertical markers; several charts side by side with
 * `panels`. Every figure in torchxfer (schedules, LR finder, training curves, AUC vs N) is drawn here.
 */
import { OptionError } from '../errors.js';
import { el, esc, FONT, PALETTE, px } from './svg.js';
import { formatTicks, makeScale, type Scale } from './ticks.js';

export interface AxisSpec {
  label?: string;
  log?: boolean;
  /** Fixed limits; when absent the data range is widened to nice ticks. */
  min?: number;
  max?: number;
  /**
   * A categorical axis (x only): value k is the k-th category, drawn at an evenly spaced slot and
   * labelled with its name instead of a number.
   */
  categories?: string[];
}

export interface SeriesSpec {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** A shaded band (e.g. a 95% CI) drawn under the line, same x. */
  band?: { lo: ArrayLike<number>; hi: ArrayLike<number> };
  /** true for a standard dash, or an SVG dasharray such as "2 3". */
  dash?: boolean | string;
  color?: string;
  /** Draw a dot at every point (for short series such as AUC vs N). */
  points?: boolean;
  /** Hold each value until the next x (a staircase), e.g. a learning rate set per step or epoch. */
  step?: boolean;
  width?: number;
}

export interface MarkerSpec {
  x: number;
  label?: string;
  /** Red by default, as the paper's unfreezing lines. */
  color?: string;
}

export type LegendPosition = 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'none';

export interface ChartSpec {
  title?: string;
  x: AxisSpec;
  y: AxisSpec;
  series: SeriesSpec[];
  markers?: MarkerSpec[];
  legend?: LegendPosition;
  width?: number;
  height?: number;
}

export interface PanelsOptions {
  title?: string;
  columns?: number;
}

const DEFAULT_W = 640;
const DEFAULT_H = 400;
const MARGIN = { left: 68, right: 18, top: 34, bottom: 50 };

/** One chart as a standalone SVG document. */
export function lineChart(spec: ChartSpec): string {
  return panels([spec]);
}

/** Several charts in a grid (row-major), each keeping its own width/height, under an optional title. */
export function panels(charts: ChartSpec[], opts: PanelsOptions = {}): string {
  if (!Array.isArray(charts) || charts.length === 0)
    throw new OptionError('charts', 'a non-empty array of chart specs', charts);
  const columns = Math.max(1, Math.min(charts.length, opts.columns ?? charts.length));
  const cellW = Math.max(...charts.map((c) => c.width ?? DEFAULT_W));
  const cellH = Math.max(...charts.map((c) => c.height ?? DEFAULT_H));
  const rows = Math.ceil(charts.length / columns);
  const top = opts.title ? 30 : 0;
  const W = cellW * columns;
  const H = cellH * rows + top;
  let body = charts
    .map(
      (c, i) =>
        `<g class="panel" transform="translate(${(i % columns) * cellW},${top + Math.floor(i / columns) * cellH})">${renderChart(c, i)}</g>`,
    )
    .join('');
  // Clip-path ids unique per document (a content hash), so SVGs inlined into one HTML page do not clash.
  const id = fnv1a(body + (opts.title ?? ''));
  body = body.replace(/tx-clip-(\d+)/g, `tx-clip-${id}-$1`);
  const title = opts.title
    ? el(
        'text',
        { class: 'suptitle', x: W / 2, y: 21, 'text-anchor': 'middle', 'font-size': 17, 'font-weight': 'bold' },
        esc(opts.title),
      )
    : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">` +
    `<rect width="${W}" height="${H}" fill="white"/>${title}${body}</svg>\n`
  );
}

function validate(spec: ChartSpec, i: number): void {
  const name = `charts[${i}]`;
  if (!spec || typeof spec !== 'object') throw new OptionError(name, 'a chart spec object', spec);
  if (!spec.x || !spec.y) throw new OptionError(`${name}.x/y`, 'axis specs', spec.x ?? spec.y);
  for (const ax of ['x', 'y'] as const) {
    const { min, max, log } = spec[ax];
    for (const [k, v] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || (log && v <= 0)))
        throw new OptionError(`${name}.${ax}.${k}`, log ? 'a number > 0 (log axis)' : 'a finite number', v);
    }
    if (min !== undefined && max !== undefined && !(max > min))
      throw new OptionError(`${name}.${ax}.max`, `a number above min (${min})`, max);
  }
  const cats = spec.x.categories;
  if (cats !== undefined && (!Array.isArray(cats) || cats.length === 0 || cats.some((c) => typeof c !== 'string')))
    throw new OptionError(`${name}.x.categories`, 'a non-empty array of strings', cats);
  if (!Array.isArray(spec.series)) throw new OptionError(`${name}.series`, 'an array of series', spec.series);
  spec.series.forEach((s, k) => {
    const sn = `${name}.series[${k}]`;
    if (!s || typeof s.name !== 'string') throw new OptionError(`${sn}.name`, 'a string', s?.name);
    if (!isArrayLike(s.x) || !isArrayLike(s.y) || s.x.length !== s.y.length)
      throw new OptionError(`${sn}.y`, `an array as long as x (${isArrayLike(s.x) ? s.x.length : '?'})`, s.y);
    if (
      s.band &&
      (!isArrayLike(s.band.lo) ||
        !isArrayLike(s.band.hi) ||
        s.band.lo.length !== s.x.length ||
        s.band.hi.length !== s.x.length)
    ) {
      throw new OptionError(`${sn}.band`, `lo and hi arrays as long as x (${s.x.length})`, s.band);
    }
  });
}

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function usable(v: number, log: boolean): boolean {
  return Number.isFinite(v) && (!log || v > 0);
}

function extent(values: number[], axis: AxisSpec): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!usable(v, !!axis.log)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) [lo, hi] = axis.log ? [1, 10] : [0, 1];
  lo = axis.min ?? lo;
  hi = axis.max ?? hi;
  // One fixed limit beyond all the data: give the other side some room instead of a reversed axis.
  if (hi <= lo && (axis.min !== undefined || axis.max !== undefined)) {
    const room = axis.log ? lo * 9 : Math.abs(lo) || 1;
    if (axis.max === undefined) hi = lo + room;
    else lo = axis.log ? hi / 10 : hi - (Math.abs(hi) || 1);
  }
  return [lo, hi];
}

function renderChart(spec: ChartSpec, index: number): string {
  validate(spec, index);
  const W = spec.width ?? DEFAULT_W;
  const H = spec.height ?? DEFAULT_H;
  const L = MARGIN.left;
  const R = W - MARGIN.right;
  const T = MARGIN.top;
  const B = H - MARGIN.bottom;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of spec.series) {
    for (let k = 0; k < s.x.length; k++) {
      xs.push(s.x[k]);
      ys.push(s.y[k]);
      if (s.band) ys.push(s.band.lo[k], s.band.hi[k]);
    }
  }
  for (const m of spec.markers ?? []) xs.push(m.x);
  const [x0, x1] = extent(xs, spec.x);
  const [y0, y1] = extent(ys, spec.y);
  const xs_ = spec.x.categories
    ? categoryScale(spec.x.categories.length, L, R)
    : makeScale(x0, x1, L, R, !!spec.x.log, spec.x.min === undefined && spec.x.max === undefined);
  const ys_ = makeScale(y0, y1, B, T, !!spec.y.log, spec.y.min === undefined && spec.y.max === undefined);
  const clip = `tx-clip-${index}`;
  const out: string[] = [];
  out.push(
    `<defs><clipPath id="${clip}"><rect x="${L}" y="${T}" width="${px(R - L)}" height="${px(B - T)}"/></clipPath></defs>`,
  );
  out.push(axes(xs_, ys_, L, R, T, B, spec.x.categories));
  const plot: string[] = [];
  spec.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    if (s.band) plot.push(bandPath(s, xs_, ys_, color));
  });
  spec.series.forEach((s, k) => plot.push(seriesPath(s, xs_, ys_, s.color ?? PALETTE[k % PALETTE.length])));
  let labelled = 0;
  for (const m of spec.markers ?? []) {
    if (!usable(m.x, xs_.log)) continue;
    const x = xs_.map(m.x);
    const color = m.color ?? '#d62728';
    plot.push(
      el('line', {
        class: 'marker',
        x1: x,
        x2: x,
        y1: T,
        y2: B,
        stroke: color,
        'stroke-width': 1.2,
        'stroke-dasharray': '4 3',
      }),
    );
    // Labels step down so that markers close together stay readable.
    const nearRight = x > L + 0.8 * (R - L); // keep the label inside the frame
    if (m.label) {
      const a = {
        class: 'marker-label',
        x: nearRight ? x - 3 : x + 3,
        y: T + 14 + 13 * (labelled++ % 4),
        'text-anchor': nearRight ? 'end' : undefined,
        'font-size': 11,
        fill: color,
      };
      plot.push(el('text', a, esc(m.label)));
    }
  }
  out.push(`<g clip-path="url(#${clip})">${plot.join('')}</g>`);
  out.push(el('rect', { x: L, y: T, width: R - L, height: B - T, fill: 'none', stroke: '#333', 'stroke-width': 1 }));
  if (spec.title)
    out.push(
      el(
        'text',
        { class: 'title', x: (L + R) / 2, y: T - 12, 'text-anchor': 'middle', 'font-size': 15 },
        esc(spec.title),
      ),
    );
  if (spec.x.label)
    out.push(
      el(
        'text',
        { class: 'x-label', x: (L + R) / 2, y: H - 10, 'text-anchor': 'middle', 'font-size': 13 },
        esc(spec.x.label),
      ),
    );
  if (spec.y.label) {
    const cy = (T + B) / 2;
    out.push(
      el(
        'text',
        {
          class: 'y-label',
          x: 16,
          y: cy,
          'text-anchor': 'middle',
          'font-size': 13,
          transform: `rotate(-90 16 ${px(cy)})`,
        },
        esc(spec.y.label),
      ),
    );
  }
  out.push(legend(spec, L, R, T, B));
  return out.join('');
}

/** Category k at the centre of the k-th of `count` equal slots. */
function categoryScale(count: number, pixLo: number, pixHi: number): Scale {
  const slot = (pixHi - pixLo) / Math.max(1, count);
  return {
    map: (v) => pixLo + (v + 0.5) * slot,
    ticks: Array.from({ length: count }, (_, k) => k),
    domain: [-0.5, count - 0.5],
    log: false,
  };
}

function axes(x: Scale, y: Scale, L: number, R: number, T: number, B: number, categories?: string[]): string {
  const out: string[] = [];
  const xl = categories ?? formatTicks(x.ticks, x.log);
  const yl = formatTicks(y.ticks, y.log);
  x.ticks.forEach((t, k) => {
    const p = x.map(t);
    out.push(el('line', { class: 'grid', x1: p, x2: p, y1: T, y2: B, stroke: '#e6e6e6' }));
    out.push(el('line', { x1: p, x2: p, y1: B, y2: B + 5, stroke: '#333' }));
    out.push(
      el('text', { class: 'tick x-tick', x: p, y: B + 18, 'text-anchor': 'middle', 'font-size': 11 }, esc(xl[k])),
    );
  });
  y.ticks.forEach((t, k) => {
    const p = y.map(t);
    out.push(el('line', { class: 'grid', x1: L, x2: R, y1: p, y2: p, stroke: '#e6e6e6' }));
    out.push(el('line', { x1: L - 5, x2: L, y1: p, y2: p, stroke: '#333' }));
    out.push(
      el('text', { class: 'tick y-tick', x: L - 8, y: p + 4, 'text-anchor': 'end', 'font-size': 11 }, esc(yl[k])),
    );
  });
  return out.join('');
}

/** Runs of consecutive drawable indices (a NaN or, on log axes, a value <= 0 breaks the line). */
function runs(n: number, ok: (k: number) => boolean): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let k = 0; k <= n; k++) {
    if (k < n && ok(k)) {
      if (start < 0) start = k;
    } else if (start >= 0) {
      out.push([start, k]);
      start = -1;
    }
  }
  return out;
}

function seriesPath(s: SeriesSpec, x: Scale, y: Scale, color: string): string {
  const ok = (k: number) => usable(s.x[k], x.log) && usable(s.y[k], y.log);
  let d = '';
  let dots = '';
  for (const [a, b] of runs(s.x.length, ok)) {
    for (let k = a; k < b; k++) {
      if (s.step && k > a) d += `L${px(x.map(s.x[k]))},${px(y.map(s.y[k - 1]))}`;
      d += `${k === a ? 'M' : 'L'}${px(x.map(s.x[k]))},${px(y.map(s.y[k]))}`;
      if (s.points) dots += el('circle', { class: 'point', cx: x.map(s.x[k]), cy: y.map(s.y[k]), r: 2.8, fill: color });
    }
  }
  const dash = s.dash === true ? '6 4' : typeof s.dash === 'string' ? s.dash : undefined;
  const path = el('path', {
    class: 'series',
    'data-name': s.name,
    d,
    fill: 'none',
    stroke: color,
    'stroke-width': s.width ?? 1.8,
    'stroke-dasharray': dash,
    'stroke-linejoin': 'round',
  });
  return path + dots;
}

function bandPath(s: SeriesSpec, x: Scale, y: Scale, color: string): string {
  const { lo, hi } = s.band!;
  const ok = (k: number) => usable(s.x[k], x.log) && usable(lo[k], y.log) && usable(hi[k], y.log);
  let d = '';
  for (const [a, b] of runs(s.x.length, ok)) {
    for (let k = a; k < b; k++) d += `${k === a ? 'M' : 'L'}${px(x.map(s.x[k]))},${px(y.map(hi[k]))}`;
    for (let k = b - 1; k >= a; k--) d += `L${px(x.map(s.x[k]))},${px(y.map(lo[k]))}`;
    d += 'Z';
  }
  return el('path', { class: 'band', 'data-name': s.name, d, fill: color, 'fill-opacity': 0.18, stroke: 'none' });
}

function legend(spec: ChartSpec, L: number, R: number, T: number, B: number): string {
  const pos = spec.legend ?? 'top-right';
  const named = spec.series.map((s, k) => ({ s, k })).filter(({ s }) => s.name !== '');
  if (pos === 'none' || named.length === 0) return '';
  const rowH = 17;
  // Width estimated from character count: no font metrics without a renderer.
  const w = 34 + 7 * Math.max(...named.map(({ s }) => s.name.length));
  const h = 8 + rowH * named.length;
  const x = pos.endsWith('left') ? L + 8 : R - 8 - w;
  const y = pos.startsWith('top') ? T + 8 : B - 8 - h;
  const rows = named.map(({ s, k }, r) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const cy = y + 4 + rowH * r + rowH / 2;
    const dash = s.dash === true ? '6 4' : typeof s.dash === 'string' ? s.dash : undefined;
    return (
      `<g class="legend-entry" data-name="${esc(s.name)}">` +
      el('line', {
        x1: x + 6,
        x2: x + 26,
        y1: cy,
        y2: cy,
        stroke: color,
        'stroke-width': 2,
        'stroke-dasharray': dash,
      }) +
      el('text', { x: x + 30, y: cy + 4, 'font-size': 11 }, esc(s.name)) +
      '</g>'
    );
  });
  return `<g class="legend">${el('rect', { x, y, width: w, height: h, fill: 'white', 'fill-opacity': 0.85, stroke: '#bbb' })}${rows.join('')}</g>`;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
