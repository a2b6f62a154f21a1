/** Stage winner rules: best mean AUC over the N grid, or a paired t-test against the simpler option. */
import type { WinnerRule } from './types.js';

/** Two-sided paired t-test p-value of two equally long series (pairs = same N, or same seed on a one-N stage). */
export type PairedP = (a: number[], b: number[]) => number;

export interface WinnerDecision {
  winner: string;
  /** Mean metric per value, in the stage's order (NaN when no AUC at all). */
  means: number[];
  /** For 'paired-t': p-value of the best against the simpler option (undefined when they are the same). */
  pValue?: number;
  /** For 'fixed': paired t-test p-value of the chosen value against each other value, by value. */
  pValues?: Record<string, number>;
  /** For 'fixed': whether this run's results agree (the chosen value has the highest mean). */
  agrees?: boolean;
  reason: string;
}

function mean(xs: (number | null)[]): number {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/**
 * `series[i]` holds value i's metric per N, or per seed on a one-N stage (concatenated over targets when the winner is
 * chosen over
 * all targets; null where a run had no AUC). Ties go to the earlier value.
 */
export function selectWinner(
  rule: WinnerRule,
  values: string[],
  series: (number | null)[][],
  pairedP: PairedP,
): WinnerDecision {
  const means = series.map(mean);
  let best = 0;
  means.forEach((m, i) => {
    if (m > means[best]! || Number.isNaN(means[best]!)) best = i;
  });
  if (rule.rule === 'fixed') return fixedDecision(rule.value, values, series, means, best, pairedP);
  if (rule.rule === 'mean-auc') {
    return { winner: values[best]!, means, reason: `highest mean ${rule.metric} (${means[best]!.toFixed(4)})` };
  }
  const simpler = values.indexOf(rule.simpler);
  if (best === simpler)
    return {
      winner: rule.simpler,
      means,
      reason: `the simpler option ${rule.simpler} has the highest mean ${rule.metric}`,
    };
  const p = pairedOver(series[best]!, series[simpler]!, pairedP);
  if (p < rule.alpha)
    return {
      winner: values[best]!,
      means,
      pValue: p,
      reason: `${values[best]} beats ${rule.simpler} (paired t-test p = ${p.toPrecision(3)} < ${rule.alpha})`,
    };
  return {
    winner: rule.simpler,
    means,
    pValue: p,
    reason: `no significant gain over the simpler ${rule.simpler} (paired t-test p = ${Number.isNaN(p) ? 'n/a' : p.toPrecision(3)} >= ${rule.alpha})`,
  };
}

/** Paired t-test p-value over the pairs where both series have an AUC (NaN with fewer than 2 pairs). */
function pairedOver(x: (number | null)[], y: (number | null)[], pairedP: PairedP): number {
  const a: number[] = [];
  const b: number[] = [];
  x.forEach((v, i) => {
    const w = y[i];
    if (v !== null && w !== null && w !== undefined) {
      a.push(v);
      b.push(w);
    }
  });
  return a.length >= 2 ? pairedP(a, b) : NaN;
}

/** A decision taken in advance: carried as is; the results say whether they agree. */
function fixedDecision(
  value: string,
  values: string[],
  series: (number | null)[][],
  means: number[],
  best: number,
  pairedP: PairedP,
): WinnerDecision {
  const chosen = values.indexOf(value);
  const pValues: Record<string, number> = {};
  values.forEach((v, i) => {
    if (i !== chosen) pValues[v] = pairedOver(series[chosen]!, series[i]!, pairedP);
  });
  const agrees = means[chosen] === means[best];
  const tests = Object.entries(pValues)
    .map(([v, p]) => `${v} p = ${Number.isNaN(p) ? 'n/a' : p.toPrecision(3)}`)
    .join(', ');
  const verdict = agrees ? 'this run agrees (highest mean)' : `this run's highest mean is ${values[best]}`;
  return {
    winner: value,
    means,
    pValues,
    agrees,
    reason: `decided in advance: ${value}; ${verdict}; paired t-tests of ${value} against ${tests}`,
  };
}
