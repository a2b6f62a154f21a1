/**
 * The 14 ChestX-ray14 findings, each drawn after its radiographic sign, with a severity in (0, 1]
 * from subtle to obvious. Some change the anatomy first (heart size, lung volume, collapse).
 */
import {
  Canvas,
  addScaled,
  scratch,
  blur,
  ellipse,
  polygonMask,
  polylineMax,
  segmentMax,
  valueNoise,
  type Point,
} from './canvas.js';
import type { ChestGeometry, ChestScene } from './chest.js';
import { lungOutline } from './chest.js';
import type { Finding } from './labels.js';
import type { Rng } from '../../random.js';

export interface FindingInstance {
  name: Finding;
  severity: number;
  /** 0: image-left lung (patient right), 1: image-right lung. */
  side: 0 | 1;
}

const sgn = (i: 0 | 1) => (i === 0 ? -1 : 1);
const smooth = (t: number) => (t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t));

/** Anatomical changes a finding implies; runs before the anatomy is drawn. */
export function adjustForFinding(g: ChestGeometry, f: FindingInstance, rng: Rng): void {
  const s = f.severity;
  switch (f.name) {
    case 'Cardiomegaly':
      // Normal CTR is below 0.5; enlargement from borderline (overlapping large normal hearts) to gross.
      g.ctr = Math.max(g.ctr, 0.47 + 0.2 * s + rng.uniform(0, 0.02));
      break;
    case 'Emphysema':
      // Hyperinflation: low flat domes, wider lungs, more air, fewer markings.
      g.yD = [g.yD[0] + (0.01 + 0.08 * s) * g.S, g.yD[1] + (0.01 + 0.08 * s) * g.S];
      g.domeDepth = [g.domeDepth[0] * (1 - 0.7 * s), g.domeDepth[1] * (1 - 0.7 * s)];
      g.lateral = [Math.min(0.97, g.lateral[0] + 0.03 * s), Math.min(0.97, g.lateral[1] + 0.03 * s)];
      g.lungAir *= 1 + 0.3 * s;
      g.markings *= 1 - 0.6 * s;
      break;
    case 'Atelectasis':
      // Volume loss: the hemidiaphragm rises and the mediastinum moves towards the collapse.
      g.yD[f.side] -= (0.015 + 0.035 * s) * g.S;
      g.shift += sgn(f.side) * 0.04 * s * g.hw;
      break;
    case 'Pneumothorax':
      g.collapse = { side: f.side, frac: 0.08 + 0.3 * s };
      break;
    case 'Fibrosis':
      g.yD = [g.yD[0] - 0.02 * s * g.S, g.yD[1] - 0.02 * s * g.S];
      break;
    default:
      break;
  }
}

/** A random pixel inside `mask` within the given vertical band (fractions of the lung height). */
function pointIn(sc: ChestScene, mask: Float32Array, rng: Rng, band: [number, number] = [0, 1]): Point {
  const { width } = sc.density;
  const y0 = sc.g.yA + band[0] * (sc.g.yD[1] - sc.g.yA);
  const y1 = sc.g.yA + band[1] * (sc.g.yD[1] - sc.g.yA);
  for (let t = 0; t < 200; t++) {
    const x = rng.uniform(0, width);
    const y = rng.uniform(y0, y1);
    if (mask[Math.floor(y) * width + Math.floor(x)] === 1) return { x, y };
  }
  return sc.hila[rng.chance(0.5) ? 0 : 1];
}

/** Adds `layer * k` only inside the mask (softened so edges do not look cut). */
function addInside(sc: ChestScene, layer: Float32Array, k: number, mask: Float32Array): void {
  addScaled(sc.density.data, layer, k, mask);
}

function consolidation(sc: ChestScene, f: FindingInstance, rng: Rng, value: number, patchy: boolean): Float32Array {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const s = sgn(f.side);
  const lower = rng.chance(0.65);
  const hy = sc.hila[f.side].y;
  // Bounded by a fissure-like oblique line; milder disease fills less of the lobe.
  const slope = rng.uniform(-0.3, 0.3);
  const extent = new Canvas(w, h);
  const c = pointIn(sc, sc.lung[f.side], rng, lower ? [0.6, 0.9] : [0.15, 0.45]);
  ellipse(
    extent,
    { cx: c.x, cy: c.y, rx: (0.1 + 0.12 * f.severity) * g.hw, ry: (0.07 + 0.1 * f.severity) * g.S },
    1,
    'flat',
    0.04 * g.S,
  );
  const noise = valueNoise(w, h, 0.025 * g.S, rng);
  const region = scratch(w * h);
  const m = sc.lung[f.side];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (m[i] === 0) continue;
      const fissure = hy + slope * (x - g.cx) * s + (lower ? 0.02 : 0.06) * g.S;
      const inLobe = lower ? smooth((y - fissure) / (0.015 * g.S) + 0.5) : smooth((fissure - y) / (0.015 * g.S) + 0.5);
      const tex = patchy ? smooth(noise[i]! * 1.6 + 0.6) : 0.85 + 0.15 * noise[i]!;
      region[i] = inLobe * extent.data[i]! * tex;
    }
  }
  blur(region, w, h, 0.006 * g.S);
  addScaled(density.data, region, value * g.lungAir, sc.air);
  return region;
}

type Painter = (sc: ChestScene, f: FindingInstance, rng: Rng) => void;

/** Draws one finding's radiographic sign into the scene's density (after the anatomy). */
export function drawFinding(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  PAINTERS[f.name](sc, f, rng);
}

/** Cardiomegaly is drawn through the anatomy alone (adjustForFinding). */
function drawNothing(): void {}

/** Emphysema is drawn through the anatomy (adjustForFinding); severe cases also get a few bullae. */
function drawEmphysema(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const sev = f.severity;
  const S = sc.g.S;
  if (sev > 0.4) {
    for (let k = 0; k < 1 + Math.floor(sev * 3); k++) {
      const p = pointIn(sc, sc.aerated, rng, [0.05, 0.4]);
      const r = rng.uniform(0.02, 0.045) * S;
      ellipse(sc.density, { cx: p.x, cy: p.y, rx: r, ry: r * 0.9 }, -0.12, 'dome', 2);
    }
  }
}

function drawNodule(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const sev = f.severity;
  const S = g.S;
  // 1-3 compact round opacities, faint when mild, near a small mass when severe (radius 0.036-0.076 of
  // the image); where they fall is random, so a network must learn the shape. v3 (radius 0.028-0.056,
  // contrast 0.12-0.37) was learned by no network tried at N = 400 (docs/demo-design.md).
  const count = 1 + Math.floor(rng.next() * (1 + 2 * sev));
  for (let k = 0; k < count; k++) {
    const p = pointIn(sc, sc.lungs, rng, [0.1, 0.85]);
    const r = (0.036 + 0.01 * rng.next() + 0.03 * sev) * S;
    ellipse(density, { cx: p.x, cy: p.y, rx: r, ry: r * rng.uniform(0.85, 1.1) }, 0.18 + 0.3 * sev, 'dome', 1);
  }
}

function drawMass(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const sev = f.severity;
  const S = g.S;
  // The same primitive as a nodule, larger and denser: what a chest source teaches the target.
  const p = pointIn(sc, sc.lungs, rng, [0.15, 0.8]);
  const r = (0.035 + 0.04 * sev) * S;
  for (let k = 0; k < 3; k++) {
    const a = rng.uniform(0, 2 * Math.PI);
    ellipse(
      density,
      {
        cx: p.x + Math.cos(a) * r * 0.35,
        cy: p.y + Math.sin(a) * r * 0.35,
        rx: r * rng.uniform(0.7, 1),
        ry: r * rng.uniform(0.7, 1),
        angle: a,
      },
      (0.2 + 0.2 * sev) / 1.6,
      'dome',
      2,
    );
  }
}

function drawEffusion(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  const sides: (0 | 1)[] = rng.chance(0.3) ? [0, 1] : [f.side];
  for (const i of sides) {
    const m = sc.lung[i];
    const yCP = g.yD[i] + g.domeDepth[i];
    const level = yCP - (0.03 + 0.3 * sev) * (yCP - g.yA);
    const lat = g.lateral[i] * g.hw;
    const rise = (0.03 + 0.05 * sev) * S;
    // The meniscus climbs the lateral chest wall.
    for (let y = Math.max(0, Math.floor(level - rise - 2)); y < h; y++) {
      for (let x = 0; x < w; x++) {
        const idx = y * w + x;
        if (m[idx] === 0) continue;
        const u = Math.min(1, Math.abs(x + 0.5 - g.cx) / lat);
        const meniscus = level - rise * u * u * u;
        density.data[idx]! += 0.95 * g.lungAir * sc.air[idx]! * smooth((y - meniscus) / (0.025 * S));
      }
    }
  }
}

function drawPneumothorax(sc: ChestScene, f: FindingInstance): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const S = g.S;
  const i = f.side;
  const gap = sc.lung[i];
  // Beyond the visceral pleural line: no lung tissue at all, so darker and without markings.
  for (let k = 0; k < gap.length; k++) if (gap[k] === 1 && sc.aerated[k] === 0) density.data[k]! -= 0.14;
  const edge = lungOutline(g, i, g.collapse?.frac ?? 0.2).slice(0, 20);
  const line = new Canvas(w, h);
  polylineMax(line, edge, 0.0035 * S, 0.0035 * S, 1);
  addScaled(density.data, line.data, 0.18, gap);
}

function drawHernia(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  // Hiatus hernia: a retrocardiac round opacity holding gas (bubbles and an air-fluid level).
  const cx = g.cx + rng.uniform(-0.05, 0.12) * g.hw;
  const cy = Math.min(g.yD[0], g.yD[1]) - rng.uniform(0.02, 0.06) * S;
  const r = (0.045 + 0.04 * sev) * S;
  ellipse(density, { cx, cy, rx: r * 1.2, ry: r }, 0.25, 'dome', 2);
  const gas = new Canvas(w, h);
  ellipse(gas, { cx, cy, rx: r * 1.05, ry: r * 0.9 }, 1, 'flat', 1.5);
  const level = cy + rng.uniform(-0.2, 0.2) * r;
  for (let y = 0; y < h; y++) if (y > level) gas.data.fill(0, y * w, (y + 1) * w);
  addScaled(density.data, gas.data, -(0.25 + 0.2 * sev));
  for (let k = 0; k < 3; k++)
    ellipse(
      density,
      { cx: cx + rng.uniform(-0.6, 0.6) * r, cy: cy + rng.uniform(0.2, 0.7) * r, rx: 0.12 * r, ry: 0.1 * r },
      -0.25,
      'dome',
      1,
    );
}

function drawAtelectasis(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  const m = sc.lung[f.side];
  const layer = new Canvas(w, h);
  const s = sgn(f.side);
  if (rng.chance(0.6)) {
    // Plate-like (discoid) atelectasis: a horizontal band in the lower zone.
    const p = pointIn(sc, m, rng, [0.6, 0.85]);
    const a = { x: p.x - s * 0.25 * g.hw, y: p.y + rng.uniform(-0.02, 0.02) * S };
    const b = { x: p.x + s * 0.25 * g.hw, y: p.y + rng.uniform(-0.02, 0.02) * S };
    segmentMax(layer, a, b, (0.005 + 0.009 * sev) * S, (0.004 + 0.006 * sev) * S, 1);
    addInside(sc, layer.data, 0.3 + 0.15 * sev, m);
  } else {
    // Segmental collapse: a wedge from the hilum to the pleura.
    const hil = sc.hila[f.side];
    const tip = { x: g.cx + s * g.lateral[f.side] * g.hw, y: hil.y + rng.uniform(0.05, 0.2) * S };
    const wdt = (0.04 + 0.06 * sev) * S;
    const wedge = polygonMask(w, h, [hil, { x: tip.x, y: tip.y - wdt }, { x: tip.x, y: tip.y + wdt }]);
    blur(wedge, w, h, 0.01 * S);
    addInside(sc, wedge, 0.2 + 0.2 * sev, m);
  }
}

function drawInfiltration(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  const patches = 1 + Math.floor(rng.next() * (1 + 2 * sev));
  const noise = valueNoise(w, h, 0.02 * S, rng);
  const blob = new Canvas(w, h);
  for (let k = 0; k < patches; k++) {
    const p = pointIn(sc, sc.lungs, rng, [0.2, 0.9]);
    ellipse(blob, { cx: p.x, cy: p.y, rx: (0.05 + 0.07 * sev) * S, ry: (0.04 + 0.06 * sev) * S }, 1, 'flat', 0.03 * S);
  }
  const v = 0.12 + 0.2 * sev;
  for (let i = 0; i < blob.data.length; i++)
    density.data[i]! += v * Math.min(1, blob.data[i]!) * smooth(noise[i]! * 1.5 + 0.55) * sc.lungs[i]!;
}

function drawConsolidation(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  consolidation(sc, f, rng, 0.5 + 0.4 * f.severity, false);
}

function drawPneumonia(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  const region = consolidation(sc, f, rng, 0.45 + 0.4 * sev, true);
  // Air bronchograms: aerated bronchi stand out dark against the opaque airspaces.
  const tubes = new Canvas(w, h);
  const hil = sc.hila[f.side];
  const s = sgn(f.side);
  for (let k = 0; k < 4; k++) {
    let p = { x: hil.x, y: hil.y };
    let a = Math.atan2(rng.uniform(-0.6, 0.9), s);
    const pts: Point[] = [p];
    for (let j = 0; j < 8; j++) {
      a += rng.uniform(-0.25, 0.25);
      p = { x: p.x + Math.cos(a) * 0.03 * S, y: p.y + Math.sin(a) * 0.03 * S };
      pts.push(p);
    }
    polylineMax(tubes, pts, 0.006 * S, 0.0025 * S, 1);
  }
  addScaled(density.data, tubes.data, -(0.2 + 0.1 * sev), region);
}

function drawEdema(sc: ChestScene, f: FindingInstance): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  // Bilateral perihilar (bat-wing) haze and Kerley B lines at the lateral bases.
  const haze = new Canvas(w, h);
  for (const i of [0, 1] as const) {
    const hil = sc.hila[i];
    ellipse(
      haze,
      { cx: hil.x + sgn(i) * 0.1 * g.hw, cy: hil.y, rx: (0.25 + 0.15 * sev) * g.hw, ry: (0.12 + 0.06 * sev) * S },
      1,
      'dome',
      0.06 * S,
    );
  }
  addInside(sc, haze.data, 0.1 + 0.2 * sev, sc.lungs);
  const kerley = new Canvas(w, h);
  for (const i of [0, 1] as const) {
    const s = sgn(i);
    const lines = 3 + Math.floor(5 * sev);
    for (let k = 0; k < lines; k++) {
      const y = g.yD[i] - (0.01 + 0.012 * k) * S;
      const x = g.cx + s * g.lateral[i] * g.hw * 1.02;
      segmentMax(kerley, { x, y }, { x: x - s * 0.035 * S, y }, 0.003 * S, 0.003 * S, 1);
    }
  }
  addInside(sc, kerley.data, 0.12 + 0.1 * sev, sc.lungs);
}

function drawFibrosis(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  // Reticulation: a fine net, peripheral and basal.
  const n1 = valueNoise(w, h, 0.014 * S, rng);
  const n2 = valueNoise(w, h, 0.009 * S, rng);
  const v = 0.12 + 0.18 * sev;
  for (let y = 0; y < h; y++) {
    const basal = smooth((y - g.yA) / (g.yD[1] - g.yA));
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (sc.lungs[i] === 0) continue;
      const periph = smooth(Math.abs(x - g.cx) / g.hw - 0.3);
      const net = Math.max(1 - Math.abs(n1[i]!) / 0.12, 1 - Math.abs(n2[i]!) / 0.12, 0);
      density.data[i]! += v * net * (0.3 + 0.7 * periph) * (0.3 + 0.7 * basal);
    }
  }
}

/** A soft-tissue band inside the chest wall: an apical cap or a band along the lateral margin. */
function drawPleuralThickening(sc: ChestScene, f: FindingInstance, rng: Rng): void {
  const { g, density } = sc;
  const { width: w, height: h } = density;
  const sev = f.severity;
  const S = g.S;
  const m = sc.lung[f.side];
  const t = (0.008 + 0.015 * sev) * S;
  const band = scratch(w * h);
  if (rng.chance(0.4)) markApicalCap(band, m, w, h, t);
  else markLateralBand(band, sc, f, rng, t);
  blur(band, w, h, 0.004 * S);
  addInside(sc, band, 0.35 + 0.15 * sev, m);
}

/** Marks `t` pixels down from the top of the lung in every column. */
function markApicalCap(band: Float32Array, m: Float32Array, w: number, h: number, t: number): void {
  for (let x = 0; x < w; x++) {
    let top = -1;
    for (let y = 0; y < h && top < 0; y++) if (m[y * w + x] === 1) top = y;
    if (top < 0) continue;
    for (let y = top; y < Math.min(h, top + t); y++) band[y * w + x] = 1;
  }
}

/** Marks `t` pixels inwards from the lung's lateral edge over a random vertical stretch. */
function markLateralBand(band: Float32Array, sc: ChestScene, f: FindingInstance, rng: Rng, t: number): void {
  const { g } = sc;
  const { width: w, height: h } = sc.density;
  const m = sc.lung[f.side];
  const s = sgn(f.side);
  const y0 = g.yA + rng.uniform(0.2, 0.5) * (g.yD[f.side] - g.yA);
  const y1 = y0 + (0.15 + 0.2 * f.severity) * g.S;
  for (let y = Math.floor(y0); y < Math.min(h, y1); y++) {
    let edge = -1;
    if (s < 0) for (let x = 0; x < w && edge < 0; x++) edge = m[y * w + x] === 1 ? x : -1;
    else for (let x = w - 1; x >= 0 && edge < 0; x--) edge = m[y * w + x] === 1 ? x : -1;
    if (edge < 0) continue;
    for (let k = 0; k < t; k++) {
      const x = edge - s * k;
      if (x >= 0 && x < w) band[y * w + x] = 1;
    }
  }
}

/** One painter per finding (every name of labels.ts; the compiler checks none is missing). */
const PAINTERS: Record<Finding, Painter> = {
  Atelectasis: drawAtelectasis,
  Cardiomegaly: drawNothing,
  Effusion: drawEffusion,
  Infiltration: drawInfiltration,
  Mass: drawMass,
  Nodule: drawNodule,
  Pneumonia: drawPneumonia,
  Pneumothorax: drawPneumothorax,
  Consolidation: drawConsolidation,
  Edema: drawEdema,
  Emphysema: drawEmphysema,
  Fibrosis: drawFibrosis,
  Pleural_Thickening: drawPleuralThickening,
  Hernia: drawHernia,
};
