/**
 * Renders many images: in worker threads when the compiled worker is available (drawing is CPU-bound
 * JavaScript), otherwise in process. Output does not depend on the path taken or the thread count.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { runTasks, type RenderTask } from './render.js';

const CHUNK = 8;

export interface RenderOptions {
  /** Worker threads; 0 renders in this thread. Default: the number of cores (at most 8), or 0 below 256 images. */
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

function workerScript(): string | undefined {
  const path = fileURLToPath(new URL('./worker.js', import.meta.url));
  // Under a TypeScript runner (vitest) only worker.ts exists; Node cannot start it as a worker.
  return existsSync(path) ? path : undefined;
}

export async function renderAll(tasks: RenderTask[], opts: RenderOptions = {}): Promise<void> {
  const chunks: RenderTask[][] = [];
  for (let i = 0; i < tasks.length; i += CHUNK) chunks.push(tasks.slice(i, i + CHUNK));
  let done = 0;
  const report = (k: number) => {
    done += k;
    opts.onProgress?.(done, tasks.length);
  };
  const script = workerScript();
  // Each worker compiles the drawing code anew (about a second of CPU): not worth it for small sets.
  const threads = Math.min(
    opts.threads ?? (tasks.length < 256 ? 0 : Math.min(8, availableParallelism())),
    chunks.length,
  );
  if (!script || threads <= 0) {
    for (const c of chunks) {
      await runTasks(c);
      report(c.length);
    }
    return;
  }
  const workers = Array.from({ length: threads }, () => new Worker(script));
  try {
    let next = 0;
    let id = 0;
    await Promise.all(
      workers.map(async (w) => {
        // Two chunks in flight per worker so it never waits for the main thread.
        const lane = async (): Promise<void> => {
          while (next < chunks.length) {
            const chunk = chunks[next++]!;
            await send(w, id++, chunk);
            report(chunk.length);
          }
        };
        await Promise.all([lane(), lane()]);
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function send(w: Worker, id: number, tasks: RenderTask[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { id: number; error?: string }) => {
      if (msg.id !== id) return;
      cleanup();
      if (msg.error) reject(new Error(`Rendering a phantom image failed: ${msg.error}`));
      else resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new Error(`A phantom rendering worker failed: ${err.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`A phantom rendering worker exited early (code ${code})`));
    };
    const cleanup = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.postMessage({ id, tasks });
  });
}
