export { aucFromClasses, rocAuc, type LabelLike } from './auc.js';
export { bce, bceWithLogits, sigmoid } from './bce.js';
export { bootstrapAucCi, bootstrapMacroAucCi, type AucInterval, type BootstrapOptions } from './bootstrap.js';
export { macroAuc, maskedColumns, type MacroAuc, type Matrix } from './macro.js';
