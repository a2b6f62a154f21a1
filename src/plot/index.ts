export {
  lineChart,
  panels,
  type AxisSpec,
  type ChartSpec,
  type LegendPosition,
  type MarkerSpec,
  type PanelsOptions,
  type SeriesSpec,
} from './chart.js';
export { saveChart, saveFigure, toPng } from './png.js';
export { formatTick, formatTicks, linearTicks, logTicks, niceDomain, niceStep } from './ticks.js';
export {
  aucByArmChart,
  aucVsNChart,
  lrFinderChart,
  scheduleChart,
  trainingCurvesChart,
  type Arm,
  type ArmRuns,
  type ArmRunsPanel,
  type AucPanel,
  type History,
} from './figures.js';
