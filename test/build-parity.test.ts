// The two builds of the addon agree: the node-gyp one (binding.gyp, made by scripts/prebuild.mjs into
// prebuilds/, the binary the npm package ships) and the cmake-js one (CMakeLists.txt, build/Release)
// load, report the same LibTorch and give the same logits for seeded DenseNet121 and ResNet50. Slow the
// first time: the prebuild script compiles the addon with node-gyp (later runs recompile only changes).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../src/native.js';
import { listPrebuilds, prebuildTag } from '../src/prebuilds.js';

interface Logits {
  origin: { kind: string; path: string; builtWith?: string; libtorch?: { library: string; version?: string } };
  torchVersion: string;
  logits: Record<string, number[]>;
}

function node(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail).on('close', (status) => done({ status, stdout, stderr }));
  });
}

async function logitsWith(addon: string): Promise<Logits> {
  const r = await node([join(packageRoot, 'test', 'helpers', 'addon-logits.mjs')], {
    ...process.env,
    TORCHXFER_ADDON: addon,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Logits;
}

describe('the node-gyp and cmake-js builds', () => {
  let gypAddon = '';

  beforeAll(async () => {
    const start = performance.now();
    const r = await node([join(packageRoot, 'scripts', 'prebuild.mjs')], process.env);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    console.log(
      `${r.stdout.trim().split('\n').at(-1)} (node-gyp build, ${((performance.now() - start) / 1000).toFixed(0)} s in this test)`,
    );
    const line = /prebuild: (prebuilds\/\S+\.node)/.exec(r.stdout);
    expect(line, r.stdout).not.toBeNull();
    gypAddon = join(packageRoot, line![1]!);
  }, 2_400_000);

  it('the prebuild is listed with metadata naming the LibTorch it was built against', () => {
    const { prebuilds, problems } = listPrebuilds(packageRoot);
    expect(problems).toEqual([]);
    const mine = prebuilds.find((p) => p.path === gypAddon);
    expect(mine, `${gypAddon} among ${prebuilds.map((p) => p.path).join(', ')}`).toBeDefined();
    expect(mine!.meta.builtWith).toMatch(/^node-gyp \d+\.\d+\.\d+$/);
    expect(gypAddon).toContain(`.${prebuildTag(mine!.meta.libtorch)}.node`);
    const json = JSON.parse(readFileSync(gypAddon.replace(/\.node$/, '.json'), 'utf8')) as {
      libtorch: { needs: string[] };
    };
    expect(json.libtorch.needs.some((n) => n.startsWith('libtorch_cpu.so'))).toBe(true);
  });

  it('both load against the same LibTorch and give the same logits', async () => {
    const cmake = await logitsWith(join(packageRoot, 'build', 'Release', 'torchxfer.node'));
    const gyp = await logitsWith(gypAddon);
    expect(gyp.torchVersion).toBe(cmake.torchVersion);
    expect(gyp.origin.libtorch?.library).toBe(cmake.origin.libtorch?.library);
    for (const arch of ['densenet121', 'resnet50']) {
      const [a, b] = [cmake.logits[arch]!, gyp.logits[arch]!];
      expect(a).toHaveLength(6);
      expect(b).toHaveLength(6);
      const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
      const scale = Math.max(...a.map(Math.abs));
      console.log(`${arch}: largest logit difference ${diff.toExponential(2)} (largest |logit| ${scale.toFixed(3)})`);
      expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
    }
  }, 600_000);
});
