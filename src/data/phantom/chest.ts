/**
 * Frontal chest radiograph phantoms: anatomy in density units (soft tissue, aerated lungs, heart and
 * mediastinum, spine, ribs, clavicles, diaphragm domes, vessel markings), patient-to-patient variation,
 * and the findings of findings.ts drawn on top. Image left is the patient's right (PA convention).
 */
import {
  Canvas,
  addScaled,
  releaseScratch,
  scratch,
  bezier,
  blur,
  blurWide,
  ellipse,
  polygonMask,
  polylineMax,
  segmentMax,
  valueNoise,
  type Point,
} from './canvas.js';
import { adjustForFinding, drawFinding, type FindingInstance } from './findings.js';
import type { Finding } from './labels.js';
import { Rng } from '../../random.js';

/** Who the patient is: fixed across their follow-up images. */
export interface ChestPatient {
  /** 1-based NIH patient id. */
  id: number;
  age: number;
  gender: 'M' | 'F';
  /** Body build: thoracic half-width as a fraction of the image. */
  build: number;
  /** Soft-tissue thickness factor (habitus). */
  tissue: number;
  /** Inspiration depth: diaphragm dome level as a fraction of the image. */
  inspiration: number;
  /** Normal heart: cardiothoracic ratio. */
  ctr: number;
  boneDensity: number;
}

export interface ChestImagePlan {
  /** 0-based index of the image in the dataset; keys its random stream. */
  index: number;
  patient: ChestPatient;
  followUp: number;
  view: 'PA' | 'AP';
  labels: Finding[];
}

/** Geometry of one image in pixels; findings adjust it before anything is drawn. Sides: 0 image-left, 1 image-right. */
export interface ChestGeometry {
  S: number;
  cx: number;
  /** Half-width of the thoracic cage. */
  hw: number;
  /** Lung apex level. */
  yA: number;
  /** Dome apex level per side. */
  yD: [number, number];
  /** Depth of the costophrenic recess below the dome apex (flat diaphragm: small). */
  domeDepth: [number, number];
  /** Lateral lung margin as a fraction of hw. */
  lateral: [number, number];
  ctr: number;
  lungAir: number;
  tissue: number;
  bone: number;
  /** Scales the number and contrast of vessel markings. */
  markings: number;
  female: boolean;
  /** Pneumothorax: the lung edge pulled in by this fraction on this side. */
  collapse?: { side: 0 | 1; frac: number };
  /** Mediastinal shift in pixels (volume loss pulls towards, tension pushes away). */
  shift: number;
}

/** Everything a finding needs to draw itself. */
export interface ChestScene {
  g: ChestGeometry;
  density: Canvas;
  /** Union of both lungs (0/1) and each lung alone. */
  lungs: Float32Array;
  lung: [Float32Array, Float32Array];
  outline: [Point[], Point[]];
  /** Where aerated lung still has markings (lungs minus any pneumothorax gap). */
  aerated: Float32Array;
  hila: [Point, Point];
  /** How much aerated lung each pixel still holds (0..1): disease that fills airspaces replaces this. */
  air: Float32Array;
}

const side = (i: 0 | 1) => (i === 0 ? -1 : 1);

function geometry(plan: ChestImagePlan, S: number, rng: Rng): ChestGeometry {
  const p = plan.patient;
  const hw = S * p.build * rng.uniform(0.98, 1.02);
  const yD = S * p.inspiration * rng.uniform(0.98, 1.02);
  const ap = plan.view === 'AP';
  return {
    S,
    cx: S * 0.5 + rng.normal(0, 0.012 * S),
    hw,
    yA: S * rng.uniform(0.13, 0.17),
    yD: [yD - 0.02 * S, yD],
    domeDepth: [0.075 * S, 0.075 * S],
    lateral: [0.93, 0.93],
    // AP films magnify the heart a little, as in real portable films.
    ctr: p.ctr * (ap ? 1.05 : 1),
    lungAir: 0.6,
    tissue: p.tissue,
    bone: p.boneDensity,
    markings: 1,
    female: p.gender === 'F',
    shift: 0,
  };
}

/** Outline of one lung: rounded apex, lateral margin down to the costophrenic angle, dome, medial border. */
export function lungOutline(g: ChestGeometry, i: 0 | 1, pull = 0): Point[] {
  const s = side(i);
  const { cx, hw, yA, S } = g;
  const lat = g.lateral[i] * (1 - pull);
  const yTop = g.yD[i];
  const depth = g.domeDepth[i];
  const yCP = yTop + depth;
  const mid = cx + g.shift;
  const pts: Point[] = [];
  const apexX = 0.4 + pull * 0.1;
  const yApex = yA + pull * 0.25 * (yTop - yA);
  for (let k = 0; k <= 16; k++) {
    const t = k / 16;
    pts.push({
      x: cx + s * hw * (apexX + (lat - apexX) * Math.pow(Math.sin((Math.PI / 2) * t), 0.5)),
      y: yApex + (yCP - yApex) * Math.pow(t, 1.2),
    });
  }
  const medial = 0.1;
  for (let k = 1; k <= 14; k++) {
    const u = k / 14;
    pts.push({
      x: mid + s * hw * (lat + (medial - lat) * u),
      y: yTop + depth * (1 - Math.sin(Math.PI * (0.05 + 0.9 * u))),
    });
  }
  pts.push({ x: mid + s * hw * 0.12, y: yA + 0.12 * S }, { x: mid + s * hw * 0.22, y: yApex + 0.03 * S });
  return roundCorners(roundCorners(pts));
}

/** Chaikin corner cutting on a closed polygon: rounds the apex and the other joints. */
function roundCorners(pts: Point[]): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < pts.length; i++) {
    const a = pts[i]!;
    const b = pts[(i + 1) % pts.length]!;
    out.push(
      { x: 0.75 * a.x + 0.25 * b.x, y: 0.75 * a.y + 0.25 * b.y },
      { x: 0.25 * a.x + 0.75 * b.x, y: 0.25 * a.y + 0.75 * b.y },
    );
  }
  return out;
}

function torsoOutline(g: ChestGeometry): Point[] {
  const { cx, hw, yA, S } = g;
  const half: Point[] = [
    { x: 0.3, y: -0.01 * S },
    { x: 0.32, y: yA - 0.08 * S },
    { x: 0.7, y: yA - 0.07 * S },
    { x: 1.15, y: yA - 0.06 * S },
    { x: 1.32, y: yA + 0.04 * S },
    { x: 1.2, y: yA + 0.15 * S },
    { x: 1.14, y: g.yD[0] },
    { x: 1.18, y: S * 1.01 },
  ];
  const right = half.map((p) => ({ x: cx + p.x * hw, y: p.y }));
  const left = half.map((p) => ({ x: cx - p.x * hw, y: p.y })).reverse();
  return [...right, ...left];
}

/** Vessels branch out from the hilum, tapering, as projected tubes. */
function vesselTree(
  layer: Canvas,
  from: Point,
  angle: number,
  len: number,
  r: number,
  value: number,
  depth: number,
  rng: Rng,
): void {
  // Two slightly bent halves, so branches curve instead of running as straight spokes.
  const bend = angle + rng.normal(0, 0.2);
  const mid = { x: from.x + Math.cos(angle) * len * 0.5, y: from.y + Math.sin(angle) * len * 0.5 };
  const to = { x: mid.x + Math.cos(bend) * len * 0.5, y: mid.y + Math.sin(bend) * len * 0.5 };
  segmentMax(layer, from, mid, r, r * 0.9, value, true);
  segmentMax(layer, mid, to, r * 0.9, r * 0.8, value * 0.9, true);
  if (depth === 0) return;
  const spread = rng.uniform(0.3, 0.6);
  const r1 = Math.max(0.3, r * 0.7);
  vesselTree(
    layer,
    to,
    bend - spread * rng.uniform(0.5, 1),
    len * rng.uniform(0.6, 0.8),
    r1,
    value * 0.72,
    depth - 1,
    rng,
  );
  vesselTree(
    layer,
    to,
    bend + spread * rng.uniform(0.5, 1),
    len * rng.uniform(0.6, 0.8),
    r1,
    value * 0.72,
    depth - 1,
    rng,
  );
}

/** The normal chest, back to front in the order each layer changes the density. */
function drawAnatomy(sc: ChestScene, rng: Rng): void {
  drawSoftTissue(sc);
  const airGone = hollowLungs(sc);
  drawHeart(sc, airGone);
  // Gastric air bubble under the left dome.
  const { g, density } = sc;
  if (rng.chance(0.75))
    ellipse(
      density,
      { cx: g.cx + 0.45 * g.hw, cy: g.yD[1] + 0.07 * g.S, rx: 0.13 * g.hw, ry: 0.03 * g.S },
      -0.22,
      'flat',
      0.01 * g.S,
    );
  sc.air = airGone;
  drawParenchyma(sc, rng);
  drawVessels(sc, rng);
  drawMediastinumAndSpine(sc);
  drawRibs(sc);
  drawShoulders(sc);
}

/** Soft tissue: a rounded slab, thicker in the middle; the abdomen below the domes is thicker still; arms, breasts. */
function drawSoftTissue(sc: ChestScene): void {
  const { g, density } = sc;
  const { S, cx, hw } = g;
  const d = density.data;
  const { width, height: H } = density;
  const torso = polygonMask(width, H, torsoOutline(g));
  blur(torso, width, H, 0.007 * S);
  const yAbd = Math.max(g.yD[0], g.yD[1]);
  const across = scratch(width);
  for (let x = 0; x < width; x++) {
    const u = (x + 0.5 - cx) / (1.3 * hw);
    across[x] = 0.55 + 0.45 * Math.sqrt(Math.max(0, 1 - u * u));
  }
  for (let y = 0; y < H; y++) {
    const abd = 0.2 / (1 + Math.exp(-(y - yAbd - 0.03 * S) / (0.02 * S)));
    const row = y * width;
    for (let x = 0; x < width; x++) d[row + x]! += torso[row + x]! * g.tissue * (across[x]! + abd);
  }
  // Arms at the edges of the film.
  for (const s of [-1, 1])
    ellipse(density, { cx: cx + s * 1.42 * hw, cy: S * 0.6, rx: 0.14 * hw, ry: S * 0.6 }, 0.5 * g.tissue, 'dome', 3);
  if (g.female)
    for (const s of [-1, 1])
      ellipse(
        density,
        { cx: cx + s * 0.62 * hw, cy: g.yD[1] + 0.02 * S, rx: 0.42 * hw, ry: 0.12 * S },
        0.12,
        'dome',
        6,
      );
}

/**
 * Aerated lungs remove density: a sharp edge plus a thickness that tapers towards the margins.
 * Returns how much air each pixel lost (the heart and disease later fill it back).
 */
function hollowLungs(sc: ChestScene): Float32Array {
  const { g, density } = sc;
  const { S } = g;
  const d = density.data;
  const { width, height: H } = density;
  const broad = scratch(sc.lungs.length);
  broad.set(sc.lungs);
  blurWide(broad, width, H, 0.03 * S);
  const sharp = scratch(sc.lungs.length);
  sharp.set(sc.lungs);
  blur(sharp, width, H, 0.6 * (S / 256));
  for (let i = 0; i < d.length; i++) {
    sharp[i] = 0.45 * sharp[i]! + 0.55 * broad[i]! * sharp[i]!;
    d[i]! -= g.lungAir * sharp[i]!;
  }
  return sharp;
}

/**
 * Heart: cardiothoracic ratio = heart width / thoracic width; the bulk lies to the patient's left.
 * It displaces aerated lung, so its silhouette has soft-tissue density like the mediastinum.
 */
function drawHeart(sc: ChestScene, airGone: Float32Array): void {
  const { g, density } = sc;
  const { S, hw } = g;
  const d = density.data;
  const mid = g.cx + g.shift;
  const rx = g.ctr * g.lateral[1] * hw;
  const ry = 0.07 * S + 0.35 * rx;
  const heart = density.blank();
  const base = g.yD[1] + 0.03 * S;
  // Left ventricle (the convex left border, image right) and right atrium (image left), spanning 2 rx:
  // about a third of the heart lies right of the midline.
  ellipse(heart, { cx: mid + 0.5 * rx, cy: base - ry * 0.6, rx: 0.84 * rx, ry, angle: -0.3 }, 1, 'flat', 0.008 * S);
  ellipse(heart, { cx: mid - 0.28 * rx, cy: base - ry * 0.75, rx: 0.38 * rx, ry: ry * 0.75 }, 1, 'flat', 0.008 * S);
  ellipse(heart, { cx: mid + 0.1 * rx, cy: base - ry * 1.3, rx: 0.45 * rx, ry: ry * 0.6 }, 1, 'flat', 0.012 * S);
  for (let i = 0; i < d.length; i++) {
    const h = Math.min(1, heart.data[i]!);
    d[i]! += h * (g.lungAir * airGone[i]! + 0.06);
    airGone[i]! *= 1 - h;
  }
}

/** Parenchyma: faint mottling inside the lungs. */
function drawParenchyma(sc: ChestScene, rng: Rng): void {
  const { g, density } = sc;
  const d = density.data;
  const n1 = valueNoise(density.width, density.height, 0.03 * g.S, rng);
  const n2 = valueNoise(density.width, density.height, 0.012 * g.S, rng);
  for (let i = 0; i < d.length; i++) d[i]! += sc.aerated[i]! * (0.02 * n1[i]! + 0.012 * n2[i]!);
}

/** Vessel markings from each hilum, only where the lung is aerated. */
function drawVessels(sc: ChestScene, rng: Rng): void {
  const { g, density } = sc;
  const vessels = density.blank();
  for (const i of [0, 1] as const) {
    const s = side(i);
    const roots = Math.max(2, Math.round(6 * g.markings));
    for (let k = 0; k < roots; k++) {
      const th = -1.25 + (2.5 * (k + rng.uniform(0.2, 0.8))) / roots;
      vesselTree(
        vessels,
        sc.hila[i],
        Math.atan2(Math.sin(th), s * Math.cos(th)),
        0.075 * g.S * rng.uniform(0.8, 1.2),
        0.009 * g.S,
        1,
        4,
        rng,
      );
    }
  }
  addScaled(density.data, vessels.data, 0.2 * Math.min(1, g.markings + 0.2), sc.aerated);
}

/** Mediastinum, trachea (air column), aortic knob, spine and its pedicles. */
function drawMediastinumAndSpine(sc: ChestScene): void {
  const { g, density } = sc;
  const { S, cx, hw, yA } = g;
  const H = density.height;
  const mid = cx + g.shift;
  ellipse(density, { cx: mid + 0.02 * hw, cy: yA + 0.2 * S, rx: 0.2 * hw, ry: 0.28 * S }, 0.22, 'dome', 3);
  ellipse(density, { cx: mid, cy: yA + 0.02 * S, rx: 0.045 * hw, ry: 0.16 * S }, -0.16, 'dome', 2);
  ellipse(density, { cx: mid + 0.2 * hw, cy: yA + 0.17 * S, rx: 0.1 * hw, ry: 0.035 * S }, 0.25, 'dome', 2);
  const spine = density.blank();
  segmentMax(spine, { x: cx, y: -2 }, { x: cx, y: H + 2 }, 0.075 * hw, 0.085 * hw, 1, true);
  addScaled(density.data, spine.data, 0.16 * g.bone);
  for (let y = yA - 0.1 * S, k = 0; y < H; y += 0.058 * S, k++) {
    ellipse(density, { cx: cx - 0.075 * hw, cy: y, rx: 0.025 * hw, ry: 0.015 * S }, 0.1 * g.bone, 'dome', 1);
    ellipse(density, { cx: cx + 0.075 * hw, cy: y, rx: 0.025 * hw, ry: 0.015 * S }, 0.1 * g.bone, 'dome', 1);
  }
}

/** Ribs: posterior arcs sweep out and down from the spine, anterior ones are fainter and run medially down. */
function drawRibs(sc: ChestScene): void {
  const { g, density } = sc;
  const { S, cx, hw, yA } = g;
  const ribs = density.blank();
  const front = density.blank();
  const ribR = 0.011 * S;
  const gap = (Math.min(g.yD[0], g.yD[1]) - yA) / 8.3;
  for (const i of [0, 1] as const) {
    const s = side(i);
    for (let k = 0; k < 11; k++) {
      const y0 = yA - 0.06 * S + k * gap;
      const reach = Math.min(1.05, 0.8 + 0.06 * k);
      const a = { x: cx + s * 0.08 * hw, y: y0 };
      const b = { x: cx + s * reach * hw, y: y0 + 0.15 * S };
      polylineMax(ribs, bezier(a, { x: cx + s * 0.75 * hw, y: y0 - 0.04 * S }, b, 12), ribR * 0.9, ribR * 1.1, 1, true);
      if (k > 0 && k < 8) {
        const c0 = { x: cx + s * reach * hw, y: y0 + 0.15 * S };
        const c1 = { x: cx + s * 0.3 * hw, y: y0 + 0.26 * S };
        polylineMax(
          front,
          bezier(c0, { x: cx + s * 0.75 * hw, y: y0 + 0.15 * S }, c1, 8),
          ribR * 1.1,
          ribR * 0.9,
          1,
          false,
        );
      }
    }
  }
  addScaled(density.data, ribs.data, 0.12 * g.bone);
  addScaled(density.data, front.data, 0.05 * g.bone);
}

/** Clavicles and humeral heads. */
function drawShoulders(sc: ChestScene): void {
  const { g, density } = sc;
  const { S, cx, hw, yA } = g;
  const bones = density.blank();
  for (const s of [-1, 1]) {
    const a = { x: cx + s * 0.1 * hw, y: yA + 0.035 * S };
    const b = { x: cx + s * 0.95 * hw, y: yA - 0.045 * S };
    polylineMax(bones, bezier(a, { x: cx + s * 0.5 * hw, y: yA + 0.03 * S }, b, 10), 0.017 * S, 0.014 * S, 1, true);
    ellipse(bones, { cx: cx + s * 1.22 * hw, cy: yA - 0.02 * S, rx: 0.13 * hw, ry: 0.07 * S }, 0.8, 'dome', 2);
  }
  addScaled(density.data, bones.data, 0.3 * g.bone);
}

/**
 * Resamples the density onto the output grid (size x size) with a small rotation and shift (patient
 * positioning); the anatomy may have been drawn on a coarser grid, which this enlarges bilinearly.
 */
export function reposition(c: Canvas, angle: number, dx: number, dy: number, size = c.width): Canvas {
  const out = new Canvas(size, size);
  const src = c.data;
  const dst = out.data;
  const w = c.width;
  const h = c.height;
  const scale = w / size;
  const cos = Math.cos(angle) * scale;
  const sin = Math.sin(angle) * scale;
  const half = size / 2;
  for (let y = 0; y < size; y++) {
    const uy = y + 0.5 - half - dy;
    for (let x = 0; x < size; x++) {
      const ux = x + 0.5 - half - dx;
      const sx = cos * ux + sin * uy + w / 2 - 0.5;
      const sy = -sin * ux + cos * uy + h / 2 - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < 0 || y0 < 0 || x0 >= w - 1 || y0 >= h - 1) continue;
      const fx = sx - x0;
      const fy = sy - y0;
      const i = y0 * w + x0;
      const top = src[i]! + (src[i + 1]! - src[i]!) * fx;
      const bot = src[i + w]! + (src[i + w + 1]! - src[i + w]!) * fx;
      dst[y * size + x] = top + (bot - top) * fy;
    }
  }
  return out;
}

/** Density to an 8-bit radiograph: exponential attenuation, exposure and contrast, quantum noise. */
export function expose(c: Canvas, rng: Rng, exposure: number, gamma: number, noise: number, white = 2.6): Uint8Array {
  // Attenuation, window and gamma go through a lookup table over density; noise comes from a shared table.
  const bins = 4096;
  const dmax = 4;
  const lut = scratch(bins + 1);
  const lo = 0.04;
  const hi = 1 - Math.exp(-white * exposure);
  for (let k = 0; k <= bins; k++) {
    const att = 1 - Math.exp((-exposure * k * dmax) / bins);
    const v = (att - lo) / (hi - lo);
    lut[k] = 255 * (v <= 0 ? 0 : Math.pow(Math.min(v, 1), gamma));
  }
  const table = normalTable();
  const mask = table.length - 1;
  let j = rng.int(0, mask);
  const stride = 2 * rng.int(0, 20000) + 1;
  const amp = 255 * noise;
  const out = new Uint8Array(c.data.length);
  const d = c.data;
  const scale = bins / dmax;
  for (let i = 0; i < out.length; i++) {
    const x = d[i]! * scale;
    const k = x <= 0 ? 0 : x >= bins ? bins : x | 0;
    const v = lut[k]! + amp * table[j]!;
    j = (j + stride) & mask;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5;
  }
  return out;
}

let normals: Float32Array | undefined;
/** 2^16 standard normal values, the same in every process (seeded). */
function normalTable(): Float32Array {
  if (!normals) {
    const rng = new Rng(0x5eed, 'noise-table');
    normals = new Float32Array(1 << 16);
    for (let i = 0; i < normals.length; i++) normals[i] = rng.normal();
  }
  return normals;
}

/** Draws one chest image (size x size, 8-bit grey), fully determined by (seed, plan, size). */
export function renderChest(seed: number, plan: ChestImagePlan, size: number): Uint8Array {
  const rng = new Rng(seed, 'chest-image', plan.index);
  // The smooth anatomy is drawn at half resolution (at least 128 px) and enlarged once: four times less work.
  const output = size;
  size = Math.min(output, Math.max(128, Math.ceil(output / 2)));
  const g = geometry(plan, size, rng);
  const pose = { angle: rng.normal(0, 0.03), dx: rng.normal(0, 0.015 * output), dy: rng.normal(0, 0.015 * output) };
  const film = { exposure: rng.uniform(0.85, 1.2), gamma: rng.uniform(0.8, 1.25), noise: rng.uniform(0.006, 0.02) };
  // Findings draw from their own stream, so the same image without a finding differs only by the finding.
  const fRng = new Rng(seed, 'chest-findings', plan.index);
  const findings: FindingInstance[] = plan.labels.map((name) => ({
    name,
    severity: 0.15 + 0.85 * Math.pow(fRng.next(), 0.8),
    side: fRng.chance(0.5) ? 0 : 1,
  }));
  for (const f of findings) adjustForFinding(g, f, fRng);

  const outline: [Point[], Point[]] = [lungOutline(g, 0), lungOutline(g, 1)];
  const lung: [Float32Array, Float32Array] = [polygonMask(size, size, outline[0]), polygonMask(size, size, outline[1])];
  const lungs = scratch(size * size);
  for (let i = 0; i < lungs.length; i++) lungs[i] = Math.max(lung[0][i]!, lung[1][i]!);
  let aerated = lungs;
  if (g.collapse) {
    const inner = polygonMask(size, size, lungOutline(g, g.collapse.side, g.collapse.frac));
    const other = lung[g.collapse.side === 0 ? 1 : 0];
    aerated = scratch(lungs.length);
    for (let i = 0; i < aerated.length; i++) aerated[i] = Math.max(inner[i]!, other[i]!);
  }
  const hila: [Point, Point] = [0, 1].map((i) => ({
    x: g.cx + g.shift + side(i as 0 | 1) * 0.28 * g.hw,
    y: g.yA + 0.42 * (g.yD[i]! - g.yA),
  })) as [Point, Point];
  const scene: ChestScene = { g, density: new Canvas(size, size), lungs, lung, outline, aerated, hila, air: lungs };
  drawAnatomy(scene, rng);
  for (const f of findings) drawFinding(scene, f, fRng);

  const placed = reposition(scene.density, pose.angle, pose.dx, pose.dy, output);
  blur(placed.data, output, output, 0.35 * (output / 256) + 0.2);
  const image = expose(placed, rng, film.exposure, film.gamma, film.noise);
  releaseScratch();
  return image;
}
