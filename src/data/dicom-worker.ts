/** The DICOM decode worker thread: runs jobs from dicom-worker-pool.ts, one at a time. */
import { parentPort } from 'node:worker_threads';

import { runDicomJob, type DicomJob } from './dicom-job.js';

const port = parentPort;
if (!port) throw new Error('dicom-worker.js runs as a worker thread of dicom-worker-pool.js');
port.on('message', (job: DicomJob) => {
  void runDicomJob(job).then((result) =>
    port.postMessage(result, result.ok ? [result.data.buffer as ArrayBuffer] : []),
  );
});
