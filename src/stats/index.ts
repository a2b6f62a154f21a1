export { mean, median, quantile, std, sum, variance } from './describe.js';
export { seededRandom } from './random.js';
export { incompleteBeta, logBeta, logGamma, studentTCdf, studentTTwoSided } from './special.js';
export { pairedTTest, type TTestResult } from './ttest.js';
