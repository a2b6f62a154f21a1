/**
 * Where the experiment command gets its ArmRunner: the one registered through the library API
 * (registerArmRunner; the CLI registers the training runner, an embedding program or a test its own).
 */
import type { ArmRunner } from './types.js';

let registered: (() => ArmRunner | Promise<ArmRunner>) | undefined;

/** Sets the runner factory `torchxfer experiment` uses (the last registration wins). */
export function registerArmRunner(factory: () => ArmRunner | Promise<ArmRunner>): void {
  registered = factory;
}

export async function resolveArmRunner(): Promise<ArmRunner> {
  if (!registered)
    throw new Error(
      'No training runner is registered in this build (registerArmRunner); use --dry-run to see the plan.',
    );
  return registered();
}
