/**
 * Upper-limb radiograph phantoms in the spirit of MURA: long bones with cortex and medulla, joints,
 * small bones, soft tissue; abnormal studies carry a fracture (with displacement), a lytic or sclerotic
 * lesion, or orthopaedic hardware.
 */
import { Canvas, addScaled, blur, ellipse, releaseScratch, segmentMax, valueNoise, type Point } from './canvas.js';
import { expose } from './chest.js';
import { Rng } from '../../random.js';

export const MURA_PARTS = [
  'XR_ELBOW',
  'XR_FINGER',
  'XR_FOREARM',
  'XR_HAND',
  'XR_HUMERUS',
  'XR_SHOULDER',
  'XR_WRIST',
] as const;
export type MuraPart = (typeof MURA_PARTS)[number];

/** Share of MURA studies per body part (approximately as published). */
export const MURA_PART_SHARE: Readonly<Record<MuraPart, number>> = {
  XR_WRIST: 0.27,
  XR_SHOULDER: 0.2,
  XR_HAND: 0.15,
  XR_FINGER: 0.14,
  XR_ELBOW: 0.13,
  XR_FOREARM: 0.06,
  XR_HUMERUS: 0.05,
};

export type MskAbnormality = 'fracture' | 'hardware' | 'lytic' | 'sclerotic';

export interface MskImagePlan {
  index: number;
  part: MuraPart;
  /** Keys the study's shared random stream (same limb, same abnormality, in every view). */
  studyKey: number;
  /** Position of the image within its study (a different view). */
  view: number;
  abnormality: MskAbnormality | null;
  width: number;
  height: number;
}

/** A long or short bone from a to b (unit: image height), with end bulbs (epiphyses) of the given radii. */
interface Bone {
  a: Point;
  b: Point;
  r: number;
  endA: number;
  endB: number;
  /** Medullary canal visible (long bones). */
  hollow: boolean;
}

interface Layout {
  bones: Bone[];
  /** Round bones (carpals, humeral head...). */
  blobs: { c: Point; rx: number; ry: number; angle: number }[];
  /** Soft-tissue envelope as thick segments. */
  tissue: { a: Point; b: Point; r: number }[];
}

const P = (x: number, y: number): Point => ({ x, y });
const bone = (a: Point, b: Point, r: number, endA = r * 1.5, endB = r * 1.5, hollow = true): Bone => ({
  a,
  b,
  r,
  endA,
  endB,
  hollow,
});

/** Limb layouts in a unit frame (x right, y down, roughly 0..1), limb pointing up. */
function layout(part: MuraPart, rng: Rng): Layout {
  const j = () => rng.normal(0, 0.01);
  const bones: Bone[] = [];
  const blobs: Layout['blobs'] = [];
  const tissue: Layout['tissue'] = [];
  switch (part) {
    case 'XR_HUMERUS':
      bones.push(bone(P(0.5 + j(), 0.1), P(0.5 + j(), 0.9), 0.045, 0.09, 0.08));
      tissue.push({ a: P(0.5, -0.1), b: P(0.5, 1.1), r: 0.2 });
      break;
    case 'XR_FOREARM':
      bones.push(bone(P(0.44 + j(), 0.08), P(0.4 + j(), 0.92), 0.028, 0.04, 0.055));
      bones.push(bone(P(0.56 + j(), 0.06), P(0.6 + j(), 0.92), 0.025, 0.05, 0.03));
      tissue.push({ a: P(0.5, -0.1), b: P(0.5, 1.1), r: 0.17 });
      break;
    case 'XR_ELBOW': {
      const bend = rng.uniform(-0.5, 0.1);
      const jx = 0.5;
      const jy = 0.5;
      bones.push(bone(P(0.5, -0.05), P(jx, jy - 0.04), 0.045, 0.05, 0.09));
      const dx = Math.sin(bend);
      const dy = Math.cos(bend);
      bones.push(bone(P(jx - 0.04, jy + 0.05), P(jx - 0.04 + dx * 0.55, jy + 0.05 + dy * 0.55), 0.026, 0.04, 0.03));
      bones.push(bone(P(jx + 0.05, jy + 0.02), P(jx + 0.05 + dx * 0.55, jy + 0.02 + dy * 0.55), 0.028, 0.05, 0.03));
      tissue.push(
        { a: P(0.5, -0.1), b: P(jx, jy), r: 0.2 },
        { a: P(jx, jy), b: P(jx + dx * 0.7, jy + dy * 0.7), r: 0.17 },
      );
      break;
    }
    case 'XR_WRIST':
    case 'XR_HAND': {
      const hand = part === 'XR_HAND';
      const base = hand ? 0.82 : 0.62;
      const sc = hand ? 0.55 : 0.8;
      // Radius and ulna from below, the carpus, then metacarpals (and fingers for the hand).
      bones.push(bone(P(0.44, 1.2), P(0.42, base + 0.04 * sc), 0.05 * sc, 0.05 * sc, 0.085 * sc));
      bones.push(bone(P(0.6, 1.2), P(0.6, base + 0.06 * sc), 0.035 * sc, 0.04 * sc, 0.045 * sc));
      for (let k = 0; k < 8; k++) {
        const row = k < 4 ? 0 : 1;
        blobs.push({
          c: P(0.38 + 0.075 * (k % 4) + j(), base - (0.06 + 0.09 * row) * sc),
          rx: 0.035 * sc,
          ry: 0.03 * sc,
          angle: rng.uniform(-0.5, 0.5),
        });
      }
      const top = base - 0.2 * sc;
      for (let f = 0; f < 5; f++) {
        const thumb = f === 0;
        const ang = (thumb ? -0.7 : -0.25 + 0.13 * (f - 1)) + j();
        const start = P(0.36 + 0.07 * f, top + (thumb ? 0.05 : 0));
        const lens = thumb ? [0.22, 0.15, 0.12] : [0.32, 0.22, 0.14, 0.1];
        let p = start;
        const segments = hand ? lens.length : 1;
        for (let s = 0; s < segments; s++) {
          const len = lens[s]! * sc;
          const q = P(p.x + Math.sin(ang) * len, p.y - Math.cos(ang) * len);
          const r = (thumb ? 0.022 : 0.02) * sc * (1 - 0.15 * s);
          bones.push(bone(p, q, r, r * 1.5, r * 1.4, s === 0));
          p = P(q.x + Math.sin(ang) * 0.012 * sc, q.y - Math.cos(ang) * 0.012 * sc);
        }
        tissue.push({
          a: start,
          b: P(start.x + Math.sin(ang) * (hand ? 0.85 : 0.3) * sc, start.y - Math.cos(ang) * (hand ? 0.85 : 0.3) * sc),
          r: 0.045 * sc,
        });
      }
      tissue.push({ a: P(0.5, 1.2), b: P(0.5, top), r: 0.2 * sc });
      break;
    }
    case 'XR_FINGER': {
      const lens = [0.36, 0.26, 0.2];
      let p = P(0.5 + j(), 1.05);
      for (let s = 0; s < 3; s++) {
        const q = P(p.x + j(), p.y - lens[s]! * 1.15);
        bones.push(bone(p, q, 0.05 * (1 - 0.12 * s), 0.075, 0.065, true));
        p = P(q.x, q.y - 0.03);
      }
      tissue.push({ a: P(0.5, 1.1), b: P(0.5, 0.15), r: 0.12 });
      break;
    }
    case 'XR_SHOULDER':
      // Humeral head against the glenoid, clavicle and acromion above, proximal humeral shaft below.
      bones.push(bone(P(0.55, 0.42), P(0.62, 1.15), 0.05, 0.06, 0.05));
      blobs.push({ c: P(0.52, 0.38), rx: 0.13, ry: 0.12, angle: 0 });
      bones.push(bone(P(-0.1, 0.12), P(0.62, 0.2), 0.035, 0.04, 0.05, false));
      bones.push(bone(P(0.34, 0.28), P(0.3, 0.55), 0.03, 0.06, 0.04, false));
      blobs.push({ c: P(0.18, 0.45), rx: 0.16, ry: 0.28, angle: 0.3 });
      tissue.push({ a: P(0.6, 0.3), b: P(0.65, 1.2), r: 0.22 }, { a: P(-0.2, 0.4), b: P(0.5, 0.35), r: 0.35 });
      break;
  }
  return { bones, blobs, tissue };
}

/**
 * The part of a bone (as fractions of a -> b) inside the film's central area (a wrist's radius starts below the film).
 */
function insideFilm(b: Bone, margin = 0.1): [number, number] {
  let t0 = 0;
  let t1 = 1;
  const d = { x: b.b.x - b.a.x, y: b.b.y - b.a.y };
  for (const [p, q] of [
    [b.a.x, d.x],
    [b.a.y, d.y],
  ] as const) {
    // Liang-Barsky clipping against margin <= p + q t <= 1 - margin.
    if (q === 0) continue;
    const ta = (margin - p) / q;
    const tb = (1 - margin - p) / q;
    t0 = Math.max(t0, Math.min(ta, tb));
    t1 = Math.min(t1, Math.max(ta, tb));
  }
  return t0 < t1 ? [t0, t1] : [0, 1];
}

/**
 * Applies an abnormality to the layout (fractures change geometry); returns drawing for the rest.
 * It strikes one of the limb's main long bones (at least half as thick as the thickest): a crack in a
 * phalanx is under a pixel at the demo's input size, so a network could never learn it there.
 */
function abnormal(
  kind: MskAbnormality,
  lay: Layout,
  rng: Rng,
): (c: Canvas, map: (p: Point) => Point, unit: number) => void {
  const longBones = lay.bones.filter((b) => b.hollow);
  const pool = longBones.length ? longBones : lay.bones;
  const thickest = Math.max(...pool.map((b) => b.r));
  const target = rng.pick(pool.filter((b) => b.r >= 0.5 * thickest));
  const [t0, t1] = insideFilm(target);
  const t = t0 + (t1 - t0) * rng.uniform(0.3, 0.7);
  const at = P(target.a.x + (target.b.x - target.a.x) * t, target.a.y + (target.b.y - target.a.y) * t);
  const dir = Math.atan2(target.b.y - target.a.y, target.b.x - target.a.x);
  const sev = rng.uniform(0.2, 1);
  if (kind === 'fracture') {
    // Displacement from a fragment shifted by most of the bone's width to one shifted well past it,
    // with a lucent gap and soft-tissue swelling (the signs a reader sees first on a plain film).
    // Split the bone; the distal fragment shifts sideways and angulates.
    const shift = target.r * (0.8 + 1.2 * sev) * (rng.chance(0.5) ? 1 : -1);
    const ang = rng.uniform(-0.35, 0.35) * sev;
    const nx = -Math.sin(dir) * shift;
    const ny = Math.cos(dir) * shift;
    const len = Math.hypot(target.b.x - at.x, target.b.y - at.y);
    const gap = target.r * 0.6;
    const start = P(at.x + Math.cos(dir) * gap + nx, at.y + Math.sin(dir) * gap + ny);
    const end = P(start.x + Math.cos(dir + ang) * len, start.y + Math.sin(dir + ang) * len);
    lay.bones.push({ ...target, a: start, b: end, endA: target.r });
    target.b = at;
    target.endB = target.r;
    return (c, map, unit) => {
      const p = map(at);
      const q = map(target.a);
      const r = target.r * unit;
      ellipse(
        c,
        { cx: p.x, cy: p.y, rx: r * 3.5, ry: r * 2.5, angle: Math.atan2(p.y - q.y, p.x - q.x) },
        0.15 + 0.15 * sev,
        'dome',
        r,
      );
    };
  }
  return (c, map, unit) => {
    const p = map(at);
    const r = target.r * unit;
    const lesion = {
      cx: p.x,
      cy: p.y,
      rx: r * (0.75 + 0.3 * sev),
      ry: r * (1.1 + 0.9 * sev),
      angle: rng.uniform(0, Math.PI),
    };
    if (kind === 'lytic') {
      // A punched-out lucency inside the bone with a thin sclerotic margin.
      ellipse(c, { ...lesion, rx: lesion.rx * 1.15, ry: lesion.ry * 1.1 }, 0.12, 'flat', 1);
      ellipse(c, lesion, -0.12 - 0.2 * sev - 0.12, 'flat', 1);
    } else if (kind === 'sclerotic') {
      // Dense, slightly lobulated bone-forming lesion.
      ellipse(c, lesion, 0.3 + 0.25 * sev, 'flat', 1);
      ellipse(
        c,
        {
          ...lesion,
          cx: p.x + rng.normal(0, r * 0.3),
          cy: p.y + rng.normal(0, r * 0.3),
          rx: lesion.rx * 0.6,
          ry: lesion.ry * 0.6,
        },
        0.15,
        'flat',
        1,
      );
    } else {
      // A plate with screws (metal: far denser than bone).
      const metal = c.blank();
      const len = Math.hypot(target.b.x - target.a.x, target.b.y - target.a.y) * unit * 0.45;
      const ux = Math.cos(dir);
      const uy = Math.sin(dir);
      const ox = -uy * r * 1.15;
      const oy = ux * r * 1.15;
      const mp = map(at);
      const a0 = P(mp.x - (ux * len) / 2 + ox, mp.y - (uy * len) / 2 + oy);
      const a1 = P(mp.x + (ux * len) / 2 + ox, mp.y + (uy * len) / 2 + oy);
      segmentMax(metal, a0, a1, Math.max(1.2, r * 0.22), Math.max(1.2, r * 0.22), 1);
      const screws = 3 + Math.floor(sev * 3);
      for (let k = 0; k < screws; k++) {
        const f = (k + 0.5) / screws - 0.5;
        const s0 = P(mp.x + ux * len * f + ox, mp.y + uy * len * f + oy);
        segmentMax(metal, s0, P(s0.x - ox * 2.1, s0.y - oy * 2.1), Math.max(0.8, r * 0.1), Math.max(0.8, r * 0.1), 1);
      }
      addScaled(c.data, metal.data, 2.5);
    }
  };
}

/** Draws one limb image (width x height, 8-bit grey), fully determined by (seed, plan). */
export function renderMsk(seed: number, plan: MskImagePlan): Uint8Array {
  const study = new Rng(seed, 'msk-study', plan.studyKey);
  const rng = new Rng(seed, 'msk-image', plan.index);
  const lay = layout(plan.part, study);
  const extra = plan.abnormality ? abnormal(plan.abnormality, lay, study) : () => {};
  const { width: W, height: H } = plan;
  const c = new Canvas(W, H);
  // Each view: the limb turned and placed differently; scale in pixels per layout unit.
  const unit = H * rng.uniform(0.85, 1.05);
  const angle = rng.uniform(-0.35, 0.35) + (plan.view % 2 === 1 ? rng.uniform(-0.3, 0.3) : 0);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const ox = W / 2 + rng.normal(0, 0.04 * W);
  const oy = H / 2 + rng.normal(0, 0.03 * H);
  const map = (p: Point): Point => {
    const x = (p.x - 0.5) * unit;
    const y = (p.y - 0.5) * unit;
    return P(ox + x * cos - y * sin, oy + x * sin + y * cos);
  };
  const layer = c.blank();
  for (const t of lay.tissue) segmentMax(layer, map(t.a), map(t.b), t.r * unit, t.r * unit, 1, true);
  addScaled(c.data, layer.data, 0.45);
  // Bones: a solid tube minus its medullary canal leaves bright cortical walls.
  const outer = c.blank();
  const inner = c.blank();
  for (const b of lay.bones) {
    const a = map(b.a);
    const z = map(b.b);
    segmentMax(outer, a, z, b.r * unit, b.r * unit, 1, true);
    if (b.hollow) segmentMax(inner, a, z, b.r * unit * 0.62, b.r * unit * 0.62, 1, true);
    ellipse(
      c,
      {
        cx: a.x,
        cy: a.y,
        rx: b.endA * unit,
        ry: b.endA * unit * 0.8,
        angle: angle + Math.atan2(b.b.y - b.a.y, b.b.x - b.a.x),
      },
      0.28,
      'dome',
      1.5,
    );
    ellipse(
      c,
      {
        cx: z.x,
        cy: z.y,
        rx: b.endB * unit,
        ry: b.endB * unit * 0.8,
        angle: angle + Math.atan2(b.b.y - b.a.y, b.b.x - b.a.x),
      },
      0.28,
      'dome',
      1.5,
    );
  }
  for (const bl of lay.blobs) {
    const p = map(bl.c);
    ellipse(c, { cx: p.x, cy: p.y, rx: bl.rx * unit, ry: bl.ry * unit, angle: bl.angle + angle }, 0.35, 'dome', 1.5);
  }
  // Cancellous bone: a fine mottled texture wherever there is bone.
  const trabeculae = valueNoise(W, H, Math.max(1.5, 0.012 * H), rng);
  for (let i = 0; i < trabeculae.length; i++) trabeculae[i]! *= outer.data[i]!;
  addScaled(c.data, trabeculae, 0.07);
  addScaled(c.data, outer.data, 0.6);
  addScaled(c.data, inner.data, -0.4);
  extra(c, map, unit);
  blur(c.data, W, H, 0.5 * (H / 256) + 0.2);
  const image = expose(c, rng, rng.uniform(1, 1.4), rng.uniform(0.8, 1.2), rng.uniform(0.006, 0.018), 2.6);
  releaseScratch();
  return image;
}
