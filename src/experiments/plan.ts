/**
 * Expands a spec into jobs: grid mode directly; stage-wise mode stage by stage, each stage building
 * on the winner of the one before (known only once its runs are done). Source tasks become jobs
 * that the arms naming them depend on.
 */
import { jobConfig } from './db.js';
import { hashConfig, withoutRoots } from './keys.js';
import { selectWinner, type PairedP, type WinnerDecision } from './winner.js';
import type { Arch, ArmConfig, DatasetSpec, ExperimentSpec, RunJob, SourceSpec, StageSpec } from './types.js';

/** One arm on one target over the N grid x seeds. */
export interface PlannedArm {
  /** Stage name (stage-wise) or undefined (grid). */
  stage?: string;
  /** Arm label: the grid arm's name, or the value the stage varies. */
  name: string;
  target: string;
  arm: ArmConfig;
  jobs: RunJob[];
}

export interface StageOutcome {
  stage: string;
  /** Target name, or '*' for a stage whose winner is chosen over all targets. */
  target: string;
  /** Undefined while the stage's runs are not all done. */
  decision?: WinnerDecision;
  waitingOn: number;
}

export interface Plan {
  arms: PlannedArm[];
  /** Source jobs the arms depend on (deduplicated). */
  sources: RunJob[];
  outcomes: StageOutcome[];
}

/** What the planner needs to know about finished runs. */
export type LookupDone = (key: string) => { testAuc: number | null; testAucTta: number | null } | undefined;

function withKey(job: Omit<RunJob, 'key'>): RunJob {
  return { ...job, key: hashConfig(withoutRoots(jobConfig(job as RunJob))) };
}

export function sourceJob(spec: ExperimentSpec, source: SourceSpec, arch: Arch): RunJob {
  const { n, seed, train, ...data } = source;
  const arm: ArmConfig = { ...spec.base, source: 'imagenet', init: 'pretrained', ...train, arch };
  return withKey({ experiment: spec.name, kind: 'source', data, arm, n, seed });
}

/** Source 'none' means random initialisation whatever `init` says: one config, one key. */
export function normaliseArm(arm: ArmConfig): ArmConfig {
  return arm.source === 'none' && arm.init !== 'default' ? { ...arm, init: 'default' } : arm;
}

/** The jobs of one arm on one target: N grid x seeds, with the source dependency when there is one. */
export function armJobs(spec: ExperimentSpec, target: DatasetSpec, arm: ArmConfig): RunJob[] {
  const source = spec.sources.find((s) => s.name === arm.source);
  const dependsOn = source && arm.init !== 'default' ? sourceJob(spec, source, arm.arch).key : undefined;
  const jobs: RunJob[] = [];
  for (const n of spec.nGrid) for (const seed of spec.seeds) jobs.push(withKey({ experiment: spec.name, kind: 'target', data: target, arm, n, seed, dependsOn }));
  return jobs;
}

function sourcesOf(spec: ExperimentSpec, arms: PlannedArm[]): RunJob[] {
  const out = new Map<string, RunJob>();
  for (const a of arms) {
    const source = spec.sources.find((s) => s.name === a.arm.source);
    if (source && a.arm.init !== 'default') {
      const job = sourceJob(spec, source, a.arm.arch);
      out.set(job.key, job);
    }
  }
  return [...out.values()];
}

/** Per (arm, N): the metric averaged over seeds; undefined when a run is not done. */
function series(arm: PlannedArm, metric: 'testAuc' | 'testAucTta', lookup: LookupDone): (number | null)[] | undefined {
  const byN = new Map<number, number[]>();
  for (const job of arm.jobs) {
    const r = lookup(job.key);
    if (!r) return undefined;
    const v = metric === 'testAucTta' ? (r.testAucTta ?? r.testAuc) : r.testAuc;
    if (v === null) continue;
    const list = byN.get(job.n as number) ?? [];
    list.push(v);
    byN.set(job.n as number, list);
  }
  return [...new Set(arm.jobs.map((j) => j.n as number))].map((n) => {
    const v = byN.get(n);
    return v && v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  });
}

function stageArm(spec: ExperimentSpec, stage: StageSpec, target: DatasetSpec, carried: ArmConfig, value: string | number): PlannedArm {
  const arm = normaliseArm({ ...carried, ...stage.base, [stage.vary]: value } as ArmConfig);
  return { stage: stage.name, name: String(value), target: target.name, arm, jobs: armJobs(spec, target, arm) };
}

/**
 * The plan as far as finished runs allow. `lookup` returns done runs; `pairedP` is the paired t-test
 * p-value used by 'paired-t' winner rules.
 */
export function planExperiment(spec: ExperimentSpec, lookup: LookupDone, pairedP: PairedP): Plan {
  if (spec.mode === 'grid') {
    const arms = spec.targets.flatMap((t) => spec.arms.map((a) => ({ name: a.name, target: t.name, arm: normaliseArm(a.arm), jobs: armJobs(spec, t, normaliseArm(a.arm)) })));
    return { arms, sources: sourcesOf(spec, arms), outcomes: [] };
  }
  const arms: PlannedArm[] = [];
  const outcomes: StageOutcome[] = [];
  /** stage name -> target name -> winning arm config. */
  const winners = new Map<string, Map<string, ArmConfig>>();
  for (const stage of spec.stages) {
    const stageArms: PlannedArm[] = [];
    for (const target of spec.targets) {
      const carried = stage.buildsOn === undefined ? spec.base : winners.get(stage.buildsOn)?.get(target.name);
      if (!carried) continue; // the stage it builds on has no winner yet for this target
      for (const v of stage.values) stageArms.push(stageArm(spec, stage, target, carried, v));
    }
    arms.push(...stageArms);
    const won = new Map<string, ArmConfig>();
    const decide = (targetName: string, group: PlannedArm[][]) => {
      // group[i] = the arms of value i (one per target in scope); series concatenated over targets.
      const perValue = group.map((g) => g.map((a) => series(a, stage.winner.metric, lookup)));
      const waitingOn = group.flat().flatMap((a) => a.jobs).filter((j) => !lookup(j.key)).length;
      if (perValue.some((s) => s.some((x) => x === undefined)) || group.some((g) => g.length === 0)) {
        outcomes.push({ stage: stage.name, target: targetName, waitingOn });
        return;
      }
      const values = perValue.map((s) => (s as (number | null)[][]).flat());
      const decision = selectWinner(stage.winner, stage.values.map(String), values, pairedP);
      outcomes.push({ stage: stage.name, target: targetName, decision, waitingOn: 0 });
      const idx = stage.values.map(String).indexOf(decision.winner);
      for (const a of group[idx]!) won.set(a.target, a.arm);
    };
    if (stage.winnerScope === 'all') {
      if (stageArms.length === spec.targets.length * stage.values.length) decide('*', stage.values.map((v) => stageArms.filter((a) => a.name === String(v))));
      else outcomes.push({ stage: stage.name, target: '*', waitingOn: NaN });
    } else {
      for (const target of spec.targets) {
        const mine = stageArms.filter((a) => a.target === target.name);
        if (mine.length) decide(target.name, stage.values.map((v) => mine.filter((a) => a.name === String(v))));
        else outcomes.push({ stage: stage.name, target: target.name, waitingOn: NaN });
      }
    }
    winners.set(stage.name, won);
  }
  return { arms, sources: [...new Map([...eagerSources(spec), ...sourcesOf(spec, arms)].map((j) => [j.key, j])).values()], outcomes };
}

/**
 * Stage-wise: every source task the spec names, for every architecture it names, is planned from the
 * start, so sources train alongside stage 1 (in parallel shards) instead of after it.
 */
function eagerSources(spec: ExperimentSpec): RunJob[] {
  const archs = new Set<Arch>([spec.base.arch]);
  const names = new Set<string>([spec.base.source]);
  for (const st of spec.stages) {
    if (st.base.arch) archs.add(st.base.arch);
    if (st.base.source) names.add(st.base.source);
    if (st.vary === 'arch') st.values.forEach((v) => archs.add(v as Arch));
    if (st.vary === 'source') st.values.forEach((v) => names.add(String(v)));
  }
  return spec.sources.filter((s) => names.has(s.name)).flatMap((s) => [...archs].map((a) => sourceJob(spec, s, a)));
}

/** Every distinct job of a plan, sources first (they are dependencies). */
export function planJobs(plan: Plan): RunJob[] {
  const seen = new Set<string>();
  const out: RunJob[] = [];
  for (const job of [...plan.sources, ...plan.arms.flatMap((a) => a.jobs)]) {
    if (!seen.has(job.key)) {
      seen.add(job.key);
      out.push(job);
    }
  }
  return out;
}
