/** The 14 ChestX-ray14 findings and their prevalence in the published NIH data (Wang et al. 2017). */
import { NIH_LABELS } from '../datasets/nih.js';

export const NIH_FINDINGS = NIH_LABELS;

export type Finding = (typeof NIH_LABELS)[number];

/** Fraction of NIH images carrying each finding (No Finding is ~54%). */
export const NIH_PREVALENCE: Readonly<Record<Finding, number>> = {
  Infiltration: 0.18,
  Effusion: 0.12,
  Atelectasis: 0.1,
  Nodule: 0.06,
  Mass: 0.05,
  Pneumothorax: 0.05,
  Consolidation: 0.04,
  Pleural_Thickening: 0.03,
  Cardiomegaly: 0.025,
  Emphysema: 0.022,
  Edema: 0.02,
  Fibrosis: 0.015,
  Pneumonia: 0.013,
  Hernia: 0.002,
};

/**
 * Prevalences used for a phantom set: NIH's, each raised to at least `floor` (the prevalenceBoost
 * option) so that small sets still hold positives of the rare findings; `overrides` set a finding's
 * prevalence outright (a designed target needs enough positives for its N grid).
 */
export function phantomPrevalence(
  floor = 0,
  overrides: Partial<Record<Finding, number>> = {},
): Record<Finding, number> {
  const out = {} as Record<Finding, number>;
  for (const f of NIH_FINDINGS) out[f] = overrides[f] ?? Math.max(NIH_PREVALENCE[f], floor);
  return out;
}
