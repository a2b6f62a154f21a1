/**
 * Combines results databases (e.g. one per shard) into one. Idempotent: merging the same inputs again
 * changes nothing. A key present in both is resolved by status: done beats failed beats running/pending;
 * between two done runs the one already in OUT stays.
 */
import { ResultsDb } from './db.js';

const RANK: Record<string, number> = { done: 3, failed: 2, running: 1, pending: 0 };

export interface MergeSummary {
  added: number;
  replaced: number;
  kept: number;
}

export function mergeDatabases(outPath: string, inputs: string[]): MergeSummary {
  // Read every input before creating the output: a missing or corrupt input leaves no empty output behind.
  for (const path of inputs) {
    const src = new ResultsDb(path, { readonly: true });
    try {
      src.experiments();
      src.runs();
    } finally {
      src.close();
    }
  }
  const out = new ResultsDb(outPath);
  const summary: MergeSummary = { added: 0, replaced: 0, kept: 0 };
  try {
    out.acquireWriter();
    for (const path of inputs) {
      const src = new ResultsDb(path, { readonly: true });
      try {
        for (const e of src.experiments()) out.putExperiment(e);
        for (const row of src.runs()) {
          const have = out.run(row.key);
          if (!have) {
            out.putRun(row, src.epochs(row.key));
            summary.added++;
          } else if (RANK[row.status]! > RANK[have.status]!) {
            out.putRun(row, src.epochs(row.key));
            summary.replaced++;
          } else summary.kept++;
        }
      } finally {
        src.close();
      }
    }
  } finally {
    out.close();
  }
  return summary;
}
