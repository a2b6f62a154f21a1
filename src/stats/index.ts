export { mean, median, quantile, std, sum, variance } from './describe.js';
export { incompleteBeta, logBeta, logGamma, studentTCdf, studentTTwoSided } from './special.js';
export { compareOverGrid, pairedTTest, type TTestResult } from './ttest.js';
