/** Prints an experiment estimate: per stage, the rates it rests on, and a check against finished runs. */
import type { ExperimentEstimate, JobEstimate } from './estimate.js';

export interface PrintEstimateOptions {
  json?: boolean;
  /** Seconds a finished run of this key took (from the results database), if any. */
  measuredSeconds?: (key: string) => number | undefined;
  write?: (line: string) => void;
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 72 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

/** Estimated against measured seconds over the jobs that have finished runs. */
export function calibration(
  jobs: JobEstimate[],
  measuredSeconds: (key: string) => number | undefined,
): { jobs: number; estimated: number; measured: number } {
  let n = 0;
  let estimated = 0;
  let measured = 0;
  for (const j of jobs) {
    const m = measuredSeconds(j.job.key);
    if (m === undefined) continue;
    n++;
    estimated += j.seconds.total;
    measured += m;
  }
  return { jobs: n, estimated, measured };
}

export function printEstimate(e: ExperimentEstimate, opts: PrintEstimateOptions = {}): void {
  const write = opts.write ?? ((line: string) => console.log(line));
  const check = opts.measuredSeconds ? calibration(e.jobs, opts.measuredSeconds) : undefined;
  if (opts.json) {
    write(
      JSON.stringify(
        {
          device: e.device,
          totalSeconds: e.totalSeconds,
          fromTable: e.fromTable,
          rates: e.rates,
          checkAgainstFinishedRuns:
            check && check.jobs
              ? {
                  ...check,
                  factor: check.measured / check.estimated,
                  scaledTotalSeconds: (e.totalSeconds * check.measured) / check.estimated,
                }
              : undefined,
          jobs: e.jobs.map((j) => ({
            key: j.job.key,
            stage: j.stage,
            kind: j.job.kind,
            data: j.job.data.name,
            n: j.job.n,
            arch: j.arch,
            strategy: j.job.arm.strategy,
            sizes: j.sizes,
            steps: j.steps,
            finder: j.finder,
            evalImages: j.evalImages,
            seconds: j.seconds,
          })),
        },
        null,
        2,
      ),
    );
    return;
  }
  const stages = new Map<string, JobEstimate[]>();
  for (const j of e.jobs) stages.set(j.stage ?? '-', [...(stages.get(j.stage ?? '-') ?? []), j]);
  const sum = (js: JobEstimate[], f: (j: JobEstimate) => number) => js.reduce((s, j) => s + f(j), 0);
  write(`Estimate on ${e.device} for ${e.jobs.length} job(s):`);
  write(
    `${'stage'.padEnd(24)} ${'jobs'.padStart(5)} ${'trained img'.padStart(12)} ${'evaluated img'.padStart(14)} ${'time'.padStart(10)}`,
  );
  for (const [stage, js] of stages) {
    const trained = sum(js, (j) => (j.steps.head + j.steps.upper + j.steps.all + j.finder.steps) * j.batchSize);
    write(
      `${stage.padEnd(24)} ${String(js.length).padStart(5)} ${trained.toLocaleString('en-US').padStart(12)} ${sum(
        js,
        (j) => j.evalImages,
      )
        .toLocaleString('en-US')
        .padStart(14)} ${formatDuration(sum(js, (j) => j.seconds.total)).padStart(10)}`,
    );
  }
  write(
    `${'total'.padEnd(24)} ${String(e.jobs.length).padStart(5)} ${''.padStart(12)} ${''.padStart(14)} ${formatDuration(e.totalSeconds).padStart(10)} (${(e.totalSeconds / 3600).toFixed(2)} ${e.device.startsWith('cuda') ? 'GPU' : 'device'}-hours)`,
  );
  write('\nMeasured step times (ms per step by trainable part; ms per evaluated image):');
  for (const [key, r] of Object.entries(e.rates))
    write(
      `  ${key}: all ${r.allMs.toFixed(1)}, groups 2-3 ${r.upperMs.toFixed(1)}, head ${r.headMs.toFixed(1)}, eval ${r.evalMsPerImage.toFixed(2)}/img; per run setup ${(r.setupMs / 1000).toFixed(1)} s`,
    );
  const notes = [
    'Regular-policy runs may stop early and the LR finder may stop before its 100 steps: the estimate is an upper bound for them.',
  ];
  if (e.fromTable)
    notes.push(
      `${e.fromTable} job(s) sized from the size table (their data is not on this machine), not from the data.`,
    );
  if (check && check.jobs) {
    const factor = check.measured / check.estimated;
    notes.push(
      `Against the ${check.jobs} finished run(s) in the database: estimated ${formatDuration(check.estimated)}, measured ${formatDuration(check.measured)} (measured/estimated ${factor.toFixed(2)}: ` +
        `per-run setup, checkpoints and figures, and batch assembly sharing the CPU are not in the step times). Scaled by that factor the whole experiment takes ${formatDuration(e.totalSeconds * factor)}.`,
    );
  }
  for (const n of notes) write(`- ${n}`);
}
