export { constant, cosine, exponential, linear, phases, scaled, type Phase, type Schedule } from './compose.js';
export {
  oneCycle,
  ONE_CYCLE_CONVENTIONS,
  type OneCycle,
  type OneCycleConvention,
  type OneCycleOptions,
} from './one-cycle.js';
export {
  REGULAR_MOMENTUM,
  RegularPolicy,
  regularSchedule,
  type EpochDecision,
  type RegularPolicyOptions,
  type StopReason,
} from './regular.js';
export {
  STRATEGIES,
  tabulate,
  trainingPlan,
  type GroupState,
  type PlanOptions,
  type ScheduleTable,
  type Strategy,
  type TrainingPlan,
} from './strategy.js';
