/**
 * The demo's designed regime (docs/demo-design.md). The target is a global sign meant to be learned
 * from a few hundred examples but not from fifty (Cardiomegaly: heart wider than half the chest); the
 * same-anatomy source is another chest population (disjoint patients) labelled CheXpert-style: like
 * CheXpert's five labels, the paper's chest source, its labels include Cardiomegaly, beside signs drawn on
 * the same anatomy (hyperinflation, pneumothorax); limbs (MURA layout) are the other-anatomy source.
 * The report says that this source was trained on the target's finding.
 * Nodule (a small round opacity anywhere in the lungs) was the first planned target; no network within
 * the demo's budget learned it at N = 400, so it could not show a difficulty curve.
 */
import type { Finding } from './labels.js';

export const PHANTOM_DESIGN = {
  /** The demo's binary target. */
  target: 'Cardiomegaly' as Finding,
  /**
   * Labels of the chest source task (another simulated population, disjoint patients): the target's
   * finding, as in CheXpert, and the signs DenseNet121 learns at the demo's 96 px within the source's
   * budget (Effusion, Atelectasis, Mass and Hernia stayed at chance there; docs/demo-design.md). A
   * ChestX-ray13-style source without the target's finding lifted the target no more than the limbs.
   */
  chestSourceLabels: ['Cardiomegaly', 'Emphysema', 'Pneumothorax'] as Finding[],
  /**
   * Prevalences set outright in the default chest sets: the target needs positives for balanced
   * training subsets up to N = 200 plus validation and test sets large enough for a stable AUC.
   */
  prevalence: { Cardiomegaly: 0.3 } as Partial<Record<Finding, number>>,
} as const;
