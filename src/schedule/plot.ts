/** The paper's Figs. 1 and 2: LR and momentum vs iteration per layer group, unfreezing in red. */
import { panels } from '../plot/chart.js';
import type { ScheduleTable } from './strategy.js';

export function scheduleChart(table: ScheduleTable, title?: string): string {
  const x = Array.from({ length: table.steps }, (_, i) => i);
  // A frozen group's values are not applied: leave that stretch of its line out.
  const onlyTrainable = (v: number[], g: number) => v.map((y, i) => (table.groups[g].trainable[i] ? y : NaN));
  const markers = table.unfreeze.map((u) => ({ x: u.step, label: `group ${u.group}` }));
  const series = (key: 'lr' | 'momentum') =>
    table.groups.map((grp, g) => ({ name: `group ${g + 1}${g === 2 ? ' (head)' : ''}`, x, y: onlyTrainable(grp[key], g), dash: g === 0 ? '2 3' : g === 1 ? '7 4' : undefined, step: true }));
  return panels(
    [
      { title: 'Learning rate', x: { label: 'iteration' }, y: { label: 'learning rate' }, series: series('lr'), markers },
      { title: 'Momentum', x: { label: 'iteration' }, y: { label: 'momentum' }, series: series('momentum'), markers, legend: 'bottom-right' },
    ],
    { title, columns: 2 },
  );
}
