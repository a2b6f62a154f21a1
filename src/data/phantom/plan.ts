/**
 * What a phantom set holds, decided before any pixel is drawn: patients, their images, labels and splits.
 * Planning is sequential and cheap; rendering each planned image is then independent of the others.
 */
import type { ChestImagePlan, ChestPatient } from './chest.js';
import { NIH_FINDINGS, phantomPrevalence, type Finding } from './labels.js';
import { MURA_PART_SHARE, MURA_PARTS, type MskAbnormality, type MskImagePlan, type MuraPart } from './msk.js';
import { Rng } from '../../random.js';

export interface ChestRow {
  plan: ChestImagePlan;
  /** NIH "Image Index": patient_followup.png */
  file: string;
  width: number;
  height: number;
  spacing: number;
  split: 'train_val' | 'test';
}

/** Chance that a follow-up keeps each finding state of the previous image (chronic disease, same patient). */
const PERSISTENCE = 0.6;
/** Fraction of patients in the test list (NIH split by patient, ~80/20). */
const TEST_FRACTION = 0.2;

export function planChest(
  seed: number,
  n: number,
  prevalenceFloor = 0,
  prevalenceOverrides: Partial<Record<Finding, number>> = {},
): ChestRow[] {
  const rng = new Rng(seed, 'chest-plan');
  const prevalence = phantomPrevalence(prevalenceFloor, prevalenceOverrides);
  const rows: ChestRow[] = [];
  for (let pid = 1; rows.length < n; pid++) {
    const male = rng.chance(0.56);
    const patient: ChestPatient = {
      id: pid,
      age: Math.round(Math.min(90, Math.max(1, rng.normal(47, 16)))),
      gender: male ? 'M' : 'F',
      build: rng.uniform(0.33, 0.41) * (male ? 1.02 : 0.97),
      tissue: rng.uniform(0.85, 1.2),
      inspiration: rng.uniform(0.62, 0.72),
      ctr: rng.uniform(0.38, 0.49),
      boneDensity: rng.uniform(0.8, 1.15),
    };
    // Follow-ups: most patients have one image, a few many (NIH's long tail, kept short here).
    let count = 1;
    while (count < 6 && rng.chance(0.45)) count++;
    // Original scanner geometry (recorded in the CSV like NIH; the PNG is resized as NIH's are).
    const width = rng.pick([2500, 2544, 2682, 2992, 3056]);
    const height = rng.pick([2048, 2500, 2749, 2991, 3056]);
    const spacing = rng.pick([0.143, 0.143, 0.143, 0.139, 0.168]);
    const view = rng.chance(0.6) ? 'PA' : 'AP';
    let state: Set<Finding> = new Set();
    for (let fu = 0; fu < count && rows.length < n; fu++) {
      const next = new Set<Finding>();
      for (const f of NIH_FINDINGS) {
        const keep = fu > 0 && rng.chance(PERSISTENCE);
        if (keep ? state.has(f) : rng.chance(prevalence[f])) next.add(f);
      }
      state = next;
      rows.push({
        plan: {
          index: rows.length,
          patient,
          followUp: fu,
          view: rng.chance(0.85) ? view : view === 'PA' ? 'AP' : 'PA',
          labels: NIH_FINDINGS.filter((f) => next.has(f)),
        },
        file: `${String(pid).padStart(8, '0')}_${String(fu).padStart(3, '0')}.png`,
        width,
        height,
        spacing,
        split: 'train_val',
      });
    }
  }
  // Split by patient: a shuffled ~20% of patients make the test list.
  const patients = [...new Set(rows.map((r) => r.plan.patient.id))];
  new Rng(seed, 'chest-split').shuffle(patients);
  const test = new Set(patients.slice(0, Math.max(1, Math.round(patients.length * TEST_FRACTION))));
  for (const r of rows) if (test.has(r.plan.patient.id)) r.split = 'test';
  return rows;
}

export interface MskRow {
  plan: MskImagePlan;
  split: 'train' | 'valid';
  patient: string;
  /** study1_positive etc. */
  study: string;
  /** MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/ */
  studyPath: string;
  /** studyPath + image1.png */
  imagePath: string;
  label: 0 | 1;
}

/** Share of MURA studies that are abnormal. */
const MSK_ABNORMAL = 0.4;
const MSK_VALID_FRACTION = 0.15;
const ABNORMALITIES: MskAbnormality[] = ['fracture', 'fracture', 'hardware', 'lytic', 'sclerotic'];
/** Aspect ratio (width / height) of each part's films. */
const ASPECT: Record<MuraPart, number> = {
  XR_ELBOW: 0.8,
  XR_FINGER: 0.7,
  XR_FOREARM: 0.75,
  XR_HAND: 0.8,
  XR_HUMERUS: 0.75,
  XR_SHOULDER: 1,
  XR_WRIST: 0.8,
};

export function planMsk(seed: number, n: number, size: number): MskRow[] {
  const rng = new Rng(seed, 'msk-plan');
  type Study = {
    patient: number;
    part: MuraPart;
    number: number;
    abnormality: MskAbnormality | null;
    images: number;
    key: number;
  };
  const studies: Study[] = [];
  let images = 0;
  for (let patient = 1; images < n; patient++) {
    let u = rng.next();
    let part: MuraPart = MURA_PARTS[0];
    for (const p of MURA_PARTS)
      if ((u -= MURA_PART_SHARE[p]) < 0) {
        part = p;
        break;
      }
    const nStudies = rng.chance(0.1) ? 2 : 1;
    for (let s = 1; s <= nStudies && images < n; s++) {
      const abnormal = rng.chance(MSK_ABNORMAL);
      const count = Math.min(n - images, rng.int(2, 4));
      studies.push({
        patient,
        part,
        number: s,
        abnormality: abnormal ? rng.pick(ABNORMALITIES) : null,
        images: count,
        key: studies.length,
      });
      images += count;
    }
  }
  // MURA numbers validation patients after the training ones.
  const patients = [...new Set(studies.map((s) => s.patient))];
  const order = new Rng(seed, 'msk-split').shuffle([...patients]);
  const valid = new Set(order.slice(0, Math.max(1, Math.round(patients.length * MSK_VALID_FRACTION))));
  const renumber = new Map<number, number>();
  for (const p of patients.filter((q) => !valid.has(q))) renumber.set(p, renumber.size + 1);
  for (const p of patients.filter((q) => valid.has(q))) renumber.set(p, renumber.size + 1);

  const rows: MskRow[] = [];
  for (const st of studies) {
    const split = valid.has(st.patient) ? 'valid' : 'train';
    const patient = `patient${String(renumber.get(st.patient)).padStart(5, '0')}`;
    const label = st.abnormality ? 1 : 0;
    const study = `study${st.number}_${label ? 'positive' : 'negative'}`;
    const studyPath = `MURA-v1.1/${split}/${st.part}/${patient}/${study}/`;
    const width = Math.round(size * ASPECT[st.part]);
    for (let v = 1; v <= st.images; v++) {
      rows.push({
        plan: {
          index: rows.length,
          part: st.part,
          studyKey: st.key,
          view: v - 1,
          abnormality: st.abnormality,
          width,
          height: size,
        },
        split,
        patient,
        study,
        studyPath,
        imagePath: `${studyPath}image${v}.png`,
        label,
      });
    }
  }
  // Listed grouped by split, body part and patient, as MURA's CSVs are.
  return rows.sort((a, b) => (a.imagePath < b.imagePath ? -1 : a.imagePath > b.imagePath ? 1 : 0));
}
