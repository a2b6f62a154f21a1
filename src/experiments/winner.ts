/** Stage winner rules: best mean AUC over the N grid, or a paired t-test against the simpler option. */
import type { WinnerRule } from './types.js';

/** Two-sided paired t-test p-value of two equally long series (pairs = same N). */
export type PairedP = (a: number[], b: number[]) => number;

export interface WinnerDecision {
  winner: string;
  /** Mean metric per value, in the stage's order (NaN when no AUC at all). */
  means: number[];
  /** For 'paired-t': p-value of the best against the simpler option (undefined when they are the same). */
  pValue?: number;
  reason: string;
}

function mean(xs: (number | null)[]): number {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/**
 * `series[i]` holds value i's metric per N (concatenated over targets when the winner is chosen over
 * all targets; null where a run had no AUC). Ties go to the earlier value.
 */
export function selectWinner(rule: WinnerRule, values: string[], series: (number | null)[][], pairedP: PairedP): WinnerDecision {
  const means = series.map(mean);
  let best = 0;
  means.forEach((m, i) => {
    if (m > means[best]! || Number.isNaN(means[best]!)) best = i;
  });
  if (rule.rule === 'mean-auc') {
    return { winner: values[best]!, means, reason: `highest mean ${rule.metric} over the N grid (${means[best]!.toFixed(4)})` };
  }
  const simpler = values.indexOf(rule.simpler);
  if (best === simpler) return { winner: rule.simpler, means, reason: `the simpler option ${rule.simpler} has the highest mean ${rule.metric}` };
  // Pairs where both have an AUC.
  const a: number[] = [];
  const b: number[] = [];
  series[best]!.forEach((x, i) => {
    const y = series[simpler]![i];
    if (x !== null && y !== null && y !== undefined) {
      a.push(x);
      b.push(y);
    }
  });
  const p = a.length >= 2 ? pairedP(a, b) : NaN;
  if (p < rule.alpha) return { winner: values[best]!, means, pValue: p, reason: `${values[best]} beats ${rule.simpler} (paired t-test p = ${p.toPrecision(3)} < ${rule.alpha})` };
  return { winner: rule.simpler, means, pValue: p, reason: `no significant gain over the simpler ${rule.simpler} (paired t-test p = ${Number.isNaN(p) ? 'n/a' : p.toPrecision(3)} >= ${rule.alpha})` };
}
