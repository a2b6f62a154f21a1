// One temporary root per test run: TMPDIR points into it for every test worker and the processes
// they spawn (os.tmpdir(), Python's tempfile and mktemp all honour it), and teardown removes it, so
// the phantom sets, runs and weight files tests make never pile up in /tmp.
// TORCHXFER_KEEP_TEST_TMP=1 keeps it for a look after a failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'torchxfer-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (process.env.TORCHXFER_KEEP_TEST_TMP === '1') console.log(`test files kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
}
