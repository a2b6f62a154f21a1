export { lineChart, panels, type AxisSpec, type ChartSpec, type LegendPosition, type MarkerSpec, type PanelsOptions, type SeriesSpec } from './chart.js';
export { saveChart, toPng } from './png.js';
export { formatTick, linearTicks, logTicks, niceDomain, niceStep } from './ticks.js';
