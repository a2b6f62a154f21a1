/**
 * DICOM decoding off the event loop: jobs go to worker threads (started on demand, at most
 * `maxWorkers`, unreferenced while idle so they never keep the process alive). Each worker's heap is
 * capped: a file that still manages to exhaust it fails alone, with a message naming it, and the
 * worker is replaced. Under a TypeScript runner (vitest) the compiled worker does not exist and jobs
 * run in this thread instead.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { runDicomJob, type DicomJob, type DicomJobResult } from './dicom-job.js';
import { DataError } from './errors.js';

/**
 * V8 heap of one decode worker. ArrayBuffers and WebAssembly codec memory are outside it: those are
 * bounded by the decode budget, checked from the header before the frame is decoded (image-budget.ts).
 */
export const WORKER_HEAP_MB = 1024;

interface Lane {
  worker: Worker;
  busy: DicomJob | undefined;
  resolve?: (r: DicomJobResult) => void;
}

const lanes: Lane[] = [];
const queue: { job: DicomJob; resolve: (r: DicomJobResult) => void }[] = [];
let nextId = 1;
const maxWorkers = Math.max(1, Math.min(4, availableParallelism()));

function workerScript(): string | undefined {
  const path = fileURLToPath(new URL('./dicom-worker.js', import.meta.url));
  return existsSync(path) ? path : undefined;
}

/** Decodes one DICOM file to 8-bit grey at its own size, on a worker thread. */
export async function decodeDicomInWorker(
  path: string,
  window: DicomJob['window'],
  maxPixels: number,
  targetWidth = 0,
): Promise<Extract<DicomJobResult, { ok: true }>> {
  const job: DicomJob = { id: nextId++, path, window, maxPixels, targetWidth };
  const script = workerScript();
  const result = script
    ? await new Promise<DicomJobResult>((resolve) => {
        queue.push({ job, resolve });
        pump(script);
      })
    : await runDicomJob(job);
  if (!result.ok)
    throw new DataError(
      path,
      result.message.startsWith(`${path}: `) ? result.message.slice(path.length + 2) : result.message,
    );
  return result;
}

function pump(script: string): void {
  while (queue.length > 0) {
    let lane = lanes.find((l) => !l.busy);
    if (!lane && lanes.length < maxWorkers) lane = startLane(script);
    if (!lane) return;
    const { job, resolve } = queue.shift()!;
    lane.busy = job;
    lane.resolve = resolve;
    lane.worker.ref();
    lane.worker.postMessage(job);
  }
}

function startLane(script: string): Lane {
  // The parent's flags minus those a worker refuses (node --input-type=module -e ...).
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  const worker = new Worker(script, { execArgv, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
  const lane: Lane = { worker, busy: undefined };
  lanes.push(lane);
  const finish = (r: DicomJobResult) => {
    const resolve = lane.resolve;
    lane.busy = undefined;
    lane.resolve = undefined;
    worker.unref();
    resolve?.(r);
    pump(script);
  };
  worker.on('message', (r: DicomJobResult) => finish(r));
  const die = (why: string) => {
    const i = lanes.indexOf(lane);
    if (i < 0) return;
    lanes.splice(i, 1);
    const job = lane.busy;
    if (job) finish({ id: job.id, ok: false, message: `${job.path}: the DICOM decoder stopped (${why})` });
    else pump(script);
  };
  worker.on('error', (err: Error & { code?: string }) => {
    die(
      err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `it needed more than the ${WORKER_HEAP_MB} MB heap limit of a decode worker`
        : err.message,
    );
  });
  worker.on('exit', (code) => die(`worker exited with code ${code}`));
  worker.unref();
  return lane;
}
