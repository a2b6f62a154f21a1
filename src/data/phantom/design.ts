/**
 * The demo's designed regime (docs/demo-design.md): a target whose sign is a small, faint, compact
 * round opacity anywhere in the lungs (Nodule), hard to learn from a few examples; a same-anatomy
 * source whose findings teach that primitive (Mass: the same round opacity, larger and denser) next to
 * other chest findings; limbs as the other-anatomy source (their lytic and sclerotic lesions are round
 * too, but in bone, and most abnormal studies are fractures or hardware).
 */
import type { Finding } from './labels.js';

export const PHANTOM_DESIGN = {
  /** The demo's binary target. */
  target: 'Nodule' as Finding,
  /** Labels of the chest source task (another simulated population, disjoint patients). */
  chestSourceLabels: ['Mass', 'Effusion', 'Atelectasis', 'Pneumothorax'] as Finding[],
  /**
   * Prevalences set outright in the default chest set: the target needs positives for a balanced
   * N = 400 training subset plus validation and test sets; Mass carries the source's shared primitive.
   */
  prevalence: { Nodule: 0.3, Mass: 0.2 } as Partial<Record<Finding, number>>,
} as const;
