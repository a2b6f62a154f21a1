/**
 * Where the experiment command gets its ArmRunner: the one registered by the training module
 * (registerArmRunner), or, for tests only, a module named by TORCHXFER_TEST_ARM_RUNNER whose default
 * export is an ArmRunner or a function returning one.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ArmRunner } from './types.js';

let registered: (() => ArmRunner | Promise<ArmRunner>) | undefined;

/** Sets the production runner factory (the trainer integration calls this). */
export function registerArmRunner(factory: () => ArmRunner | Promise<ArmRunner>): void {
  registered = factory;
}

export async function resolveArmRunner(env: NodeJS.ProcessEnv = process.env): Promise<ArmRunner> {
  const modulePath = env.TORCHXFER_TEST_ARM_RUNNER;
  if (modulePath) {
    const mod = (await import(pathToFileURL(resolve(modulePath)).href)) as { default?: unknown };
    const exported = mod.default;
    const runner = typeof exported === 'function' ? await (exported as () => unknown)() : exported;
    if (!runner || typeof (runner as ArmRunner).run !== 'function') {
      throw new Error(`TORCHXFER_TEST_ARM_RUNNER=${modulePath} must default-export an ArmRunner (an object with run(job, ctx)) or a function returning one`);
    }
    return runner as ArmRunner;
  }
  if (!registered) throw new Error('No training runner is registered in this build (registerArmRunner); use --dry-run to see the plan.');
  return registered();
}
