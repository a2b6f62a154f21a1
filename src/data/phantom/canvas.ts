/**
 * 2D drawing on Float32Array canvases, in "density" units (attenuation along the ray): shapes add,
 * so overlapping anatomy sums the way X-ray projections do. Edges are anti-aliased over about a pixel;
 * a final blur gives the unsharpness of a real detector.
 */
import type { Rng } from '../../random.js';

/**
 * Scratch buffers: one image allocates many full-size layers, and fresh typed arrays for each would keep
 * the garbage collector busy. Buffers lent out are returned together by releaseScratch() once an image is
 * finished (rendering is synchronous, so nothing else can hold them).
 */
const freeBuffers = new Map<number, Float32Array[]>();
const lentBuffers: Float32Array[] = [];

/** A zeroed Float32Array of length n, valid until releaseScratch(). */
export function scratch(n: number): Float32Array {
  const reused = freeBuffers.get(n)?.pop();
  const a = reused ? (reused.fill(0), reused) : new Float32Array(n);
  lentBuffers.push(a);
  return a;
}

export function releaseScratch(): void {
  for (const a of lentBuffers) {
    let list = freeBuffers.get(a.length);
    if (!list) freeBuffers.set(a.length, (list = []));
    list.push(a);
  }
  lentBuffers.length = 0;
}

export class Canvas {
  readonly data: Float32Array;
  constructor(
    readonly width: number,
    readonly height: number,
    data?: Float32Array,
  ) {
    this.data = data ?? scratch(width * height);
  }
  blank(): Canvas {
    return new Canvas(this.width, this.height);
  }
}

export interface Point {
  x: number;
  y: number;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export interface EllipseSpec {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** Radians, counter-clockwise in image coordinates. */
  angle?: number;
}

/**
 * Adds an ellipse. `dome` weights by sqrt(1 - r^2): the projected thickness of a ball (nodules, heart),
 * so it fades towards its rim; `flat` is uniform (fluid, plates). `soft` widens the edge ramp (pixels).
 */
export function ellipse(c: Canvas, e: EllipseSpec, value: number, profile: 'flat' | 'dome' = 'flat', soft = 1): void {
  const { cx, cy } = e;
  const rx = Math.max(e.rx, 0.5);
  const ry = Math.max(e.ry, 0.5);
  const cos = Math.cos(e.angle ?? 0);
  const sin = Math.sin(e.angle ?? 0);
  const ext = Math.max(rx, ry) + soft + 1;
  const x0 = Math.max(0, Math.floor(cx - ext));
  const x1 = Math.min(c.width - 1, Math.ceil(cx + ext));
  const y0 = Math.max(0, Math.floor(cy - ext));
  const y1 = Math.min(c.height - 1, Math.ceil(cy + ext));
  const rmin = Math.min(rx, ry);
  const d = c.data;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    const row = y * c.width;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const u = (dx * cos + dy * sin) / rx;
      const v = (-dx * sin + dy * cos) / ry;
      const r2 = u * u + v * v;
      const r = Math.sqrt(r2);
      const edge = clamp01(((1 - r) * rmin) / soft + 0.5);
      if (edge <= 0) continue;
      const w = profile === 'dome' ? Math.sqrt(Math.max(0.02, 1 - Math.min(r2, 1))) : 1;
      d[row + x] += value * edge * w;
    }
  }
}

/** A 0/1 mask of a polygon (even-odd rule, sampled at pixel centres). */
export function polygonMask(width: number, height: number, pts: Point[]): Float32Array {
  const m = scratch(width * height);
  const n = pts.length;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const p of pts) {
    ymin = Math.min(ymin, p.y);
    ymax = Math.max(ymax, p.y);
  }
  const xs: number[] = [];
  for (let y = Math.max(0, Math.floor(ymin)); y <= Math.min(height - 1, Math.ceil(ymax)); y++) {
    const py = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const a = pts[i]!;
      const b = pts[j]!;
      if (a.y > py !== b.y > py) xs.push(a.x + ((py - a.y) * (b.x - a.x)) / (b.y - a.y));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const xa = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const xb = Math.min(width - 1, Math.floor(xs[k + 1]! - 0.5));
      m.fill(1, y * width + xa, y * width + xb + 1);
    }
  }
  return m;
}

/**
 * Draws a tapered segment into a layer with max-compositing (so a polyline's joints don't double up).
 * `tube` shades it like a projected cylinder (brighter along the axis).
 */
export function segmentMax(
  layer: Canvas,
  a: Point,
  b: Point,
  r0: number,
  r1: number,
  value: number,
  tube = false,
): void {
  const rmax = Math.max(r0, r1) + 1.5;
  const x0 = Math.max(0, Math.floor(Math.min(a.x, b.x) - rmax));
  const x1 = Math.min(layer.width - 1, Math.ceil(Math.max(a.x, b.x) + rmax));
  const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y) - rmax));
  const y1 = Math.min(layer.height - 1, Math.ceil(Math.max(a.y, b.y) + rmax));
  const vx = b.x - a.x;
  const vy = b.y - a.y;
  const len2 = vx * vx + vy * vy || 1e-9;
  const d = layer.data;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5 - a.y;
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5 - a.x;
      const t = clamp01((px * vx + py * vy) / len2);
      const ex = px - t * vx;
      const ey = py - t * vy;
      const r = r0 + (r1 - r0) * t;
      const d2 = ex * ex + ey * ey;
      if (d2 >= (r + 0.5) * (r + 0.5)) continue;
      const dist = Math.sqrt(d2);
      const edge = clamp01(r - dist + 0.5);
      if (edge <= 0) continue;
      const w = tube ? Math.sqrt(Math.max(0.15, 1 - (dist * dist) / ((r + 0.5) * (r + 0.5)))) : 1;
      const v = value * edge * w;
      const i = y * layer.width + x;
      if (v > d[i]!) d[i] = v;
    }
  }
}

/** A polyline with radius tapering linearly from r0 to r1 along its length. */
export function polylineMax(layer: Canvas, pts: Point[], r0: number, r1: number, value: number, tube = false): void {
  const n = pts.length - 1;
  for (let i = 0; i < n; i++) {
    segmentMax(layer, pts[i]!, pts[i + 1]!, r0 + ((r1 - r0) * i) / n, r0 + ((r1 - r0) * (i + 1)) / n, value, tube);
  }
}

/** Points along a quadratic Bezier curve. */
export function bezier(a: Point, ctrl: Point, b: Point, steps: number): Point[] {
  const out: Point[] = [];
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    const u = 1 - t;
    out.push({ x: u * u * a.x + 2 * u * t * ctrl.x + t * t * b.x, y: u * u * a.y + 2 * u * t * ctrl.y + t * t * b.y });
  }
  return out;
}

/** dst += k * src (* mask when given). */
export function addScaled(dst: Float32Array, src: Float32Array, k: number, mask?: Float32Array): void {
  if (mask) for (let i = 0; i < dst.length; i++) dst[i]! += k * src[i]! * mask[i]!;
  else for (let i = 0; i < dst.length; i++) dst[i]! += k * src[i]!;
}

/** In-place Gaussian blur: exact separable kernel for small sigma, three box passes otherwise. */
export function blur(data: Float32Array, width: number, height: number, sigma: number): void {
  if (sigma <= 0.2) return;
  const tmp = scratch(data.length);
  if (sigma < 1) {
    // Repeated [1 2 1] / 4 passes: each adds a variance of 1/2.
    for (let pass = Math.max(1, Math.round(2 * sigma * sigma)); pass > 0; pass--) {
      binomialRows(data, tmp, width, height);
      binomialColumns(tmp, data, width, height);
    }
  } else if (sigma < 2) {
    const r = Math.ceil(sigma * 3);
    const k = new Float32Array(2 * r + 1);
    let s = 0;
    for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
    for (let i = 0; i < k.length; i++) k[i]! /= s;
    convolveRows(data, tmp, width, height, k, r);
    convolveColumns(tmp, data, width, height, k, r);
  } else {
    // Three box blurs of width w approximate a Gaussian with variance 3 * (w^2 - 1) / 12.
    const r = Math.max(1, Math.round(Math.sqrt(4 * sigma * sigma + 1))) >> 1;
    for (let pass = 0; pass < 3; pass++) {
      boxRows(data, tmp, width, height, r);
      boxColumns(tmp, data, width, height, r);
    }
  }
}

function binomialRows(src: Float32Array, dst: Float32Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const o = y * w;
    dst[o] = 0.75 * src[o]! + 0.25 * src[o + 1]!;
    for (let x = 1; x < w - 1; x++) dst[o + x] = 0.5 * src[o + x]! + 0.25 * (src[o + x - 1]! + src[o + x + 1]!);
    dst[o + w - 1] = 0.75 * src[o + w - 1]! + 0.25 * src[o + w - 2]!;
  }
}

function binomialColumns(src: Float32Array, dst: Float32Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const up = (y === 0 ? 0 : y - 1) * w;
    const down = (y === h - 1 ? y : y + 1) * w;
    for (let x = 0; x < w; x++) dst[o + x] = 0.5 * src[o + x]! + 0.25 * (src[up + x]! + src[down + x]!);
  }
}

function convolveRows(src: Float32Array, dst: Float32Array, w: number, h: number, k: Float32Array, r: number): void {
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = -r; j <= r; j++) {
        const p = x + j < 0 ? 0 : x + j >= w ? w - 1 : x + j;
        s += src[o + p]! * k[j + r]!;
      }
      dst[o + x] = s;
    }
  }
}

/** Vertical pass done row by row so memory is read in order. */
function convolveColumns(src: Float32Array, dst: Float32Array, w: number, h: number, k: Float32Array, r: number): void {
  dst.fill(0);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let j = -r; j <= r; j++) {
      const sy = y + j < 0 ? 0 : y + j >= h ? h - 1 : y + j;
      const so = sy * w;
      const kj = k[j + r]!;
      for (let x = 0; x < w; x++) dst[o + x]! += src[so + x]! * kj;
    }
  }
}

/** Running-sum box filter of radius r along rows, edges clamped. */
function boxRows(src: Float32Array, dst: Float32Array, w: number, h: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    let s = 0;
    for (let j = -r; j <= r; j++) s += src[o + (j < 0 ? 0 : j >= w ? w - 1 : j)]!;
    for (let x = 0; x < w; x++) {
      dst[o + x] = s * inv;
      const add = x + r + 1 >= w ? w - 1 : x + r + 1;
      const sub = x - r < 0 ? 0 : x - r;
      s += src[o + add]! - src[o + sub]!;
    }
  }
}

/** The same along columns, keeping one running sum per column and walking rows in order. */
function boxColumns(src: Float32Array, dst: Float32Array, w: number, h: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const acc = scratch(w);
  for (let j = -r; j <= r; j++) {
    const so = (j < 0 ? 0 : j >= h ? h - 1 : j) * w;
    for (let x = 0; x < w; x++) acc[x]! += src[so + x]!;
  }
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const ao = (y + r + 1 >= h ? h - 1 : y + r + 1) * w;
    const so = (y - r < 0 ? 0 : y - r) * w;
    for (let x = 0; x < w; x++) {
      const a = acc[x]!;
      dst[o + x] = a * inv;
      acc[x] = a + src[ao + x]! - src[so + x]!;
    }
  }
}

/** Smooth value noise in [-1, 1] with features about `cell` pixels across. */
export function valueNoise(width: number, height: number, cell: number, rng: Rng): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = scratch(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next() * 2 - 1;
  const out = scratch(width * height);
  const fx = scratch(width);
  const ix = scratch(width);
  for (let x = 0; x < width; x++) {
    const g = x / cell;
    ix[x] = Math.floor(g);
    const t = g - ix[x]!;
    fx[x] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < height; y++) {
    const g = y / cell;
    const iy = Math.floor(g);
    let ty = g - iy;
    ty = ty * ty * (3 - 2 * ty);
    const r0 = iy * gw;
    const r1 = r0 + gw;
    for (let x = 0; x < width; x++) {
      const i = ix[x]!;
      const tx = fx[x]!;
      const top = grid[r0 + i]! + (grid[r0 + i + 1]! - grid[r0 + i]!) * tx;
      const bot = grid[r1 + i]! + (grid[r1 + i + 1]! - grid[r1 + i]!) * tx;
      out[y * width + x] = top + (bot - top) * ty;
    }
  }
  return out;
}

/**
 * Gaussian blur for wide sigmas (>= 4 px): blurs a copy reduced by 4 and enlarges it back bilinearly.
 * The result is smooth anyway, so the reduction loses nothing visible and saves most of the work.
 */
export function blurWide(data: Float32Array, width: number, height: number, sigma: number): void {
  const f = 4;
  if (sigma < f) return blur(data, width, height, sigma);
  const w = Math.ceil(width / f);
  const h = Math.ceil(height / f);
  const small = scratch(w * h);
  for (let y = 0; y < height; y++) {
    const sy = ((y / f) | 0) * w;
    for (let x = 0; x < width; x++) small[sy + ((x / f) | 0)]! += data[y * width + x]!;
  }
  for (let i = 0; i < small.length; i++) small[i]! /= f * f;
  blur(small, w, h, sigma / f);
  for (let y = 0; y < height; y++) {
    const gy = Math.min(h - 1, Math.max(0, (y + 0.5) / f - 0.5));
    const y0 = Math.min(h - 2, gy | 0);
    const ty = gy - y0;
    for (let x = 0; x < width; x++) {
      const gx = Math.min(w - 1, Math.max(0, (x + 0.5) / f - 0.5));
      const x0 = Math.min(w - 2, gx | 0);
      const tx = gx - x0;
      const i = y0 * w + x0;
      const top = small[i]! + (small[i + 1]! - small[i]!) * tx;
      const bot = small[i + w]! + (small[i + w + 1]! - small[i + w]!) * tx;
      data[y * width + x] = top + (bot - top) * ty;
    }
  }
}

/** Rotates points about a centre (radians). */
export function rotate(pts: Point[], cx: number, cy: number, angle: number): Point[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return pts.map((p) => ({ x: cx + (p.x - cx) * c - (p.y - cy) * s, y: cy + (p.x - cx) * s + (p.y - cy) * c }));
}
