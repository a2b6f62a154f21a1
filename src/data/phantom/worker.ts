/** Worker thread: renders the chunks of images the pool sends and answers when they are on disk. */
import { parentPort } from 'node:worker_threads';

import { runTasks, type RenderTask } from './render.js';

parentPort?.on('message', (msg: { id: number; tasks: RenderTask[] }) => {
  runTasks(msg.tasks).then(
    () => parentPort?.postMessage({ id: msg.id }),
    (err: unknown) => parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
