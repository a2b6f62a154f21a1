// The CUDA-only code (autocast, cuDNN settings, CUDA device counts, NCCL selection) is compiled only
// against a CUDA LibTorch, which CI does not have: compile it here for syntax and types against this
// LibTorch's headers, with the flags CMake used (build/compile_commands.json), so it cannot rot unseen.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { packageRoot } from '../src/native.js';

interface CompileCommand {
  file: string;
  command?: string;
  arguments?: string[];
}

const db = join(packageRoot, 'build', 'compile_commands.json');

function splitCommand(command: string): string[] {
  return command.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)!.map((a) => a.replace(/^["']|["']$/g, ''));
}

describe('CUDA-only code', () => {
  const files = ['native/core/train/trainer.cpp', 'native/core/runtime.cpp', 'native/core/distributed.cpp'];
  for (const file of files) {
    // Asynchronous: three compiles of ~30 s each in a row, run synchronously, keep the worker from
    // answering vitest for over a minute ("Timeout calling onTaskUpdate", which fails the run).
    it(`${file} compiles with TORCHXFER_WITH_CUDA defined`, async () => {
      expect(existsSync(db), `${db} is written by the CMake build (npm run build:native)`).toBe(true);
      const entry = (JSON.parse(readFileSync(db, 'utf8')) as CompileCommand[]).find((e) => e.file.endsWith(file));
      expect(entry, `${file} in ${db}`).toBeDefined();
      const args = entry!.arguments ?? splitCommand(entry!.command!);
      // Keep the compiler, defines, includes and standard; drop the PCH, outputs and the source.
      const kept: string[] = [];
      for (let i = 1; i < args.length; i++) {
        const a = args[i]!;
        if (a === '-o' || a === '-include' || a === '-MF' || a === '-MT' || a === '-c') {
          i++;
          continue;
        }
        if (a === '-isystem') kept.push(a, args[++i]!);
        else if (/^-(D|I|isystem|std=)/.test(a)) kept.push(a);
      }
      const { stdout } = await promisify(execFile)(
        args[0]!,
        [...kept, '-DTORCHXFER_WITH_CUDA', '-fsyntax-only', join(packageRoot, file)],
        { cwd: join(packageRoot, 'build'), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      expect(stdout).toBe('');
    }, 120000);
  }
});
