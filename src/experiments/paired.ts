/** The paired t-test p-value the winner rules use (from src/stats). */
import { pairedTTest } from '../stats/index.js';
import type { PairedP } from './winner.js';

export const pairedP: PairedP = (a, b) => pairedTTest(a, b).p;
