/**
 * A model's load report (LoadReport, declared in src/native-types.ts): the prefix as the file names it, and in one line
 * for run logs.
 */
import type { LoadReport } from '../native-types.js';

/** The reader strips DataParallel's "module." before the backbone is matched: the report names the file's prefix. */
export function withFilePrefix(report: LoadReport, stripped: string): LoadReport {
  return stripped ? { ...report, prefix: stripped + report.prefix } : report;
}

function listed(items: string[], limit = 3): string {
  return items.slice(0, limit).join(', ') + (items.length > limit ? `, ... ${items.length - limit} more` : '');
}

/**
 * "Weights: backbone found under the prefix 'module.densenet121.', pre-0.4 DenseNet names remapped;
 * 0 backbone keys missing; head: ...; left out: ...".
 */
export function describeLoad(r: LoadReport): string {
  const where = r.prefix ? `under the prefix '${r.prefix}'` : 'by its own names (no prefix)';
  const parts = [`Weights: backbone found ${where}${r.oldNames ? ', pre-0.4 DenseNet names remapped' : ''}`, `${r.backboneMissing} backbone keys missing`];
  if (r.mismatched.length) parts.push(`shape mismatches: ${listed(r.mismatched)}`);
  if (r.unexpected.length) parts.push(`not in the model: ${listed(r.unexpected)}`);
  if (r.headNote) parts.push(`head: ${r.headNote}`);
  if (r.leftOut.length) parts.push(`left out: ${r.leftOut.length} tensors (${listed(r.leftOut)})`);
  if (r.firstConvAdapted) parts.push('first conv summed over RGB for grey input');
  return `${parts.join('; ')}.`;
}
