/**
 * Time limits of the tests that train, spawn trainings or run the Python references. They guard against
 * hangs only: on a shared machine (2 cores, other work running) such a test takes 5-10 times its idle
 * duration, so the limit is far above any idle one. Speed targets live in `npm run bench`, never here.
 */
export const HEAVY_TEST_MS = 900_000;
