/**
 * Expands a spec into jobs: grid mode directly; stage-wise mode stage by stage, each stage building
 * on the winner of the one before (known only once its runs are done). Source tasks become jobs
 * that the arms naming them depend on.
 */
import { jobConfig } from './db.js';
import { hashConfig, keyForm, withoutRoots } from './keys.js';
import { selectWinner, type PairedP, type WinnerDecision } from './winner.js';
import {
  ARCHS,
  type Arch,
  type ArmConfig,
  type DatasetSpec,
  type ExperimentSpec,
  type RunJob,
  type SourceSpec,
  type StageSpec,
} from './types.js';

/** One arm on one target over the N grid x seeds. */
export interface PlannedArm {
  /** Stage name (stage-wise) or undefined (grid). */
  stage?: string;
  /** The figure the arm is drawn in: the stage's figure (or name), or the grid arm's name. */
  figure: string;
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
  return { ...job, key: hashConfig(keyForm(withoutRoots(jobConfig(job as RunJob)))) };
}

/**
 * The source task's job for one architecture. Its recipe starts from the spec's `base`, like every arm,
 * with the source's `train` on top; a base whose source is another task (source tasks do not chain)
 * starts it from ImageNet. A source built without a target's images (ChestX-ray13) follows that
 * target: its seed is the target job's, and its data options carry the target's label, split and the
 * N grid, so the excluded images are exactly those the target uses.
 */
export function sourceJob(spec: ExperimentSpec, source: SourceSpec, arch: Arch, targetSeed?: number): RunJob {
  const { n, seed, train, targets: _offered, disjointFromTarget, ...data } = source;
  const baseStart =
    spec.base.source === 'none' || spec.base.source === 'imagenet'
      ? {}
      : { source: 'imagenet', init: 'pretrained' as const };
  const arm: ArmConfig = { ...spec.base, ...baseStart, ...train, arch };
  if (!disjointFromTarget)
    return withKey({ experiment: spec.name, kind: 'source', data, arm: normaliseArm(arm), n, seed });
  const target = spec.targets.find((t) => t.name === disjointFromTarget)!;
  const options = {
    ...data.options,
    excludeExperiment: target.labels![0],
    excludeNGrid: spec.nGrid,
    split: target.options.split ?? 'official',
  };
  return withKey({
    experiment: spec.name,
    kind: 'source',
    data: { ...data, options },
    arm: normaliseArm(arm),
    n,
    seed: targetSeed ?? seed,
  });
}

/** What a radiomics arm is, whatever the stage carried: no network, so nothing else of the arm applies. */
const RADIOMICS_ARM: Omit<ArmConfig, 'options'> = {
  method: 'radiomics',
  arch: 'densenet121',
  policy: 'regular',
  strategy: 'fine-tune',
  source: 'none',
  init: 'default',
  optimizer: 'adam',
  epochs: 1,
  maxLr: 1,
  batchSize: 16,
  tta: 0,
};

/**
 * One config, one key: random initialisation is source 'none' with init 'default' however it was
 * asked for; a radiomics arm keeps only its options; 'cnn' is the method when none is named. A network
 * from random init has nothing pretrained to protect: under gradual unfreezing it trains every layer
 * from the first step with the same discriminative rates ('discriminative'), as the authors' no-transfer
 * arms did. "moments" re-draws the convolution weights unless the arm says otherwise (the scope is part
 * of its key).
 */
export function normaliseArm(arm: ArmConfig): ArmConfig {
  if (arm.method === 'radiomics') return { ...RADIOMICS_ARM, options: arm.options };
  const { method: _cnn, ...cnn } = arm;
  if (cnn.source === 'none' || cnn.init === 'default') {
    return {
      ...cnn,
      source: 'none',
      init: 'default',
      strategy: cnn.strategy === 'gradual-unfreeze' ? 'discriminative' : cnn.strategy,
    };
  }
  if (cnn.init === 'moments' && cnn.options.momentsScope === undefined)
    return { ...cnn, options: { ...cnn.options, momentsScope: 'conv' } };
  return cnn;
}

/** Whether `source` may be used by `target` (a source can be offered to some targets only). */
export function offeredTo(spec: ExperimentSpec, source: string, target: string): boolean {
  const s = spec.sources.find((x) => x.name === source) ?? spec.weightSources?.find((x) => x.name === source);
  return !s?.targets || s.targets.includes(target);
}

/**
 * The jobs of one arm on one target: N grid (the spec's, or a stage's own) x seeds, with the source
 * dependency when there is one. An arm whose max LR is found tunes it once, at the largest N; the other
 * N reuse it (lrFrom).
 */
export function armJobs(
  spec: ExperimentSpec,
  target: DatasetSpec,
  arm: ArmConfig,
  nGrid: number[] = spec.nGrid,
): RunJob[] {
  const source = spec.sources.find((s) => s.name === arm.source);
  const initWeights = arm.init !== 'default' ? publishedWeights(spec, arm) : undefined;
  const jobs: RunJob[] = [];
  const largest = nGrid[nGrid.length - 1]!;
  for (const seed of spec.seeds) {
    const dependsOn = source && arm.init !== 'default' ? sourceJob(spec, source, arm.arch, seed).key : undefined;
    const tuning = withKey({
      experiment: spec.name,
      kind: 'target',
      data: target,
      arm,
      n: largest,
      seed,
      dependsOn,
      initWeights,
    });
    const lrFrom = arm.maxLr === 'auto' && arm.method !== 'radiomics' ? tuning.key : undefined;
    for (const n of nGrid)
      jobs.push(
        n === largest
          ? tuning
          : withKey({
              experiment: spec.name,
              kind: 'target',
              data: target,
              arm,
              n,
              seed,
              dependsOn,
              initWeights,
              lrFrom,
            }),
      );
  }
  return jobs;
}

/** The weights an arm starts from when its source is published weights (nothing to train first). */
function publishedWeights(spec: ExperimentSpec, arm: ArmConfig): string | undefined {
  const w = spec.weightSources?.find((s) => s.name === arm.source);
  if (!w) return undefined;
  if (w.arch !== arm.arch) {
    throw new Error(
      `source '${w.name}' is ${w.arch} weights (${w.weights}) but an arm naming it trains ${arm.arch}: give that arm arch ${w.arch}, or offer the source to other stages only`,
    );
  }
  return w.weights;
}

function sourcesOf(spec: ExperimentSpec, arms: PlannedArm[]): RunJob[] {
  const out = new Map<string, RunJob>();
  for (const a of arms) {
    const source = spec.sources.find((s) => s.name === a.arm.source);
    if (source && a.arm.init !== 'default') {
      for (const seed of spec.seeds) {
        const job = sourceJob(spec, source, a.arm.arch, seed);
        out.set(job.key, job);
      }
    }
  }
  return [...out.values()];
}

/**
 * What a stage's winner rule pairs, per arm: the metric averaged over seeds per N (the paper's pairs);
 * on a stage with one N, each seed's run (one mean would be one pair, never a test). Undefined when a
 * run is not done.
 */
function series(arm: PlannedArm, metric: 'testAuc' | 'testAucTta', lookup: LookupDone): (number | null)[] | undefined {
  const byN = new Map<number, number[]>();
  const perRun: (number | null)[] = [];
  for (const job of arm.jobs) {
    const r = lookup(job.key);
    if (!r) return undefined;
    const v = metric === 'testAucTta' ? (r.testAucTta ?? r.testAuc) : r.testAuc;
    perRun.push(v);
    if (v === null) continue;
    const list = byN.get(job.n as number) ?? [];
    list.push(v);
    byN.set(job.n as number, list);
  }
  const sizes = [...new Set(arm.jobs.map((j) => j.n as number))];
  if (sizes.length === 1) return perRun;
  return sizes.map((n) => {
    const v = byN.get(n);
    return v && v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  });
}

function stageArm(
  spec: ExperimentSpec,
  stage: StageSpec,
  target: DatasetSpec,
  carried: ArmConfig,
  i: number,
): PlannedArm {
  const arm = normaliseArm({ ...carried, ...stage.base, ...stage.arms[i] } as ArmConfig);
  return {
    stage: stage.name,
    figure: stage.figure ?? stage.name,
    name: String(stage.values[i]),
    target: target.name,
    arm,
    jobs: armJobs(spec, target, arm, stage.nGrid),
  };
}

/** The stage's arm indices a target runs: all but those naming a source not offered to it. */
function armsFor(spec: ExperimentSpec, stage: StageSpec, target: DatasetSpec): number[] {
  return stage.arms
    .map((_, i) => i)
    .filter((i) => {
      const source = stage.arms[i]!.source ?? stage.base.source;
      return source === undefined || offeredTo(spec, source, target.name);
    });
}

/**
 * The plan as far as finished runs allow. `lookup` returns done runs; `pairedP` is the paired t-test
 * p-value used by 'paired-t' winner rules.
 */
export function planExperiment(spec: ExperimentSpec, lookup: LookupDone, pairedP: PairedP): Plan {
  if (spec.mode === 'grid') {
    const arms = spec.targets.flatMap((t) =>
      spec.arms
        .filter((a) => offeredTo(spec, a.arm.source, t.name))
        .map((a) => ({
          figure: a.name,
          name: a.name,
          target: t.name,
          arm: normaliseArm(a.arm),
          jobs: armJobs(spec, t, normaliseArm(a.arm)),
        })),
    );
    return { arms, sources: sourcesOf(spec, arms), outcomes: [] };
  }
  const arms: PlannedArm[] = [];
  const outcomes: StageOutcome[] = [];
  /** stage name -> target name -> winning arm config. */
  const winners = new Map<string, Map<string, ArmConfig>>();
  for (const stage of spec.stages) {
    const stageArms: PlannedArm[] = [];
    const targets = spec.targets.filter((t) => !stage.targets || stage.targets.includes(t.name));
    for (const target of targets) {
      const carried = stage.buildsOn === undefined ? spec.base : winners.get(stage.buildsOn)?.get(target.name);
      if (!carried) continue; // the stage it builds on has no winner yet for this target
      for (const i of armsFor(spec, stage, target)) stageArms.push(stageArm(spec, stage, target, carried, i));
    }
    arms.push(...stageArms);
    const won = new Map<string, ArmConfig>();
    const decide = (targetName: string, group: PlannedArm[][]) => {
      // group[i] = the arms of value i (one per target in scope); series concatenated over targets.
      // Values a target does not run (a source not offered to it) take no part in its decision.
      const present = stage.values.map(String).filter((_, i) => group[i]!.length > 0);
      const offered = group.filter((g) => g.length > 0);
      const perValue = offered.map((g) => g.map((a) => series(a, stage.winner.metric, lookup)));
      const waitingOn = offered
        .flat()
        .flatMap((a) => a.jobs)
        .filter((j) => !lookup(j.key)).length;
      const complete = offered.length > 0 && !perValue.some((s) => s.some((x) => x === undefined));
      const carry = (winner: string) => {
        for (const a of group[stage.values.map(String).indexOf(winner)]!) won.set(a.target, a.arm);
      };
      if (stage.winner.rule === 'fixed' && present.includes(stage.winner.value)) {
        // Decided in advance: later stages are planned at once; the results only report agreement.
        const decision = complete
          ? selectWinner(
              stage.winner,
              present,
              perValue.map((s) => (s as (number | null)[][]).flat()),
              pairedP,
            )
          : {
              winner: stage.winner.value,
              means: present.map(() => NaN),
              reason: `decided in advance: ${stage.winner.value} (waiting for ${waitingOn} run(s) to compare)`,
            };
        outcomes.push({ stage: stage.name, target: targetName, decision, waitingOn });
        carry(decision.winner);
        return;
      }
      if (!complete) {
        outcomes.push({ stage: stage.name, target: targetName, waitingOn });
        return;
      }
      const decision = selectWinner(
        stage.winner,
        present,
        perValue.map((s) => (s as (number | null)[][]).flat()),
        pairedP,
      );
      outcomes.push({ stage: stage.name, target: targetName, decision, waitingOn: 0 });
      carry(decision.winner);
    };
    if (stage.winnerScope === 'all') {
      if (targets.every((t) => stageArms.some((a) => a.target === t.name)))
        decide(
          '*',
          stage.values.map((v) => stageArms.filter((a) => a.name === String(v))),
        );
      else outcomes.push({ stage: stage.name, target: '*', waitingOn: NaN });
    } else {
      for (const target of targets) {
        const mine = stageArms.filter((a) => a.target === target.name);
        if (mine.length)
          decide(
            target.name,
            stage.values.map((v) => mine.filter((a) => a.name === String(v))),
          );
        else outcomes.push({ stage: stage.name, target: target.name, waitingOn: NaN });
      }
    }
    winners.set(stage.name, won);
  }
  return {
    arms,
    sources: [...new Map([...eagerSources(spec), ...sourcesOf(spec, arms)].map((j) => [j.key, j])).values()],
    outcomes,
  };
}

/**
 * Stage-wise: every source task the spec names, for every architecture it names, is planned from the
 * start, so sources train alongside stage 1 (in parallel shards) instead of after it.
 */
function eagerSources(spec: ExperimentSpec): RunJob[] {
  const pairs = new Set<string>(); // "source\0arch"
  const archOf = (stage: StageSpec | undefined): Arch =>
    stage?.base.arch ?? (stage?.buildsOn ? archOf(spec.stages.find((s) => s.name === stage.buildsOn)) : spec.base.arch);
  pairs.add(`${spec.base.source}\0${spec.base.arch}`);
  for (const st of spec.stages) {
    for (const a of st.arms) {
      const source = a.source ?? st.base.source;
      if (source) pairs.add(`${source}\0${a.arch ?? archOf(st)}`);
    }
  }
  return spec.sources.flatMap((s) =>
    ARCHS.filter((a) => pairs.has(`${s.name}\0${a}`)).flatMap((a) =>
      spec.seeds.map((seed) => sourceJob(spec, s, a, seed)),
    ),
  );
}

/**
 * The spec's names of each planned job: "Fig. F (stage): arm" (a grid arm: its name) for every arm it
 * serves (a job shared by two figures has two), "source task <name>" for a source job.
 */
export function planArmNames(plan: Plan, into: Map<string, string[]> = new Map()): Map<string, string[]> {
  const add = (key: string, name: string) => {
    const list = into.get(key) ?? [];
    if (!list.includes(name)) list.push(name);
    into.set(key, list);
  };
  for (const a of plan.arms)
    for (const j of a.jobs) add(j.key, a.stage ? `Fig. ${a.figure} (${a.stage}): ${a.name}` : a.name);
  for (const j of plan.sources) add(j.key, `source task ${j.data.name}`);
  return into;
}

/** Every distinct job of a plan, sources first (they are dependencies). */
export function planJobs(plan: Plan): RunJob[] {
  const seen = new Set<string>();
  const out: RunJob[] = [];
  // Sources first, then the jobs that tune a max LR, then those reusing one (their dependencies).
  const targets = plan.arms.flatMap((a) => a.jobs);
  for (const job of [...plan.sources, ...targets.filter((j) => !j.lrFrom), ...targets.filter((j) => j.lrFrom)]) {
    if (!seen.has(job.key)) {
      seen.add(job.key);
      out.push(job);
    }
  }
  return out;
}
