/**
 * The node options the controller runs with, wherever it is launched: the Dockerfile and the chart's
 * Deployment (as NODE_OPTIONS), the bin launcher (which `npm run controller` runs), and the test and benchmark harness
 * (test/support/supply-chain-system.ts). test/charts/wiring.test.ts checks that each launcher uses them.
 *
 * Without them V8 sizes its heap for the host, not for the controller: on a 24 GiB machine a 32 MiB
 * young generation, and an old generation that may grow to several times its live size between full
 * collections (bench/RESULTS.md had 275 MiB RSS at 5,000 Images; a heap snapshot of that load finds
 * ~27 MiB live once cached Images are slimmed).
 * - `--max-semi-space-size=1`: a 1 MiB young generation. Checks allocate short-lived garbage at a
 *   steady rate; scavenging it more often costs little CPU and keeps it out of RSS.
 * - `--max-old-space-size=128`: V8 lets the old generation grow less between collections the smaller
 *   this limit is (a churn test with ~30 MiB live peaked at a 132 MiB heap without a limit, and at
 *   64 MiB with 128 or 256).
 *   At 10,000 Images polled every 10 s the heap in use, garbage included, was 38.5 MiB (npm run bench,
 *   scale): 128 MiB is over three times that, so a normal load cannot run node out of heap.
 */
export const CONTROLLER_NODE_OPTIONS = '--max-semi-space-size=1 --max-old-space-size=128';

/**
 * The environment the controller runs with, wherever it is launched (the same places as the node options).
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates concurrently an arena of its own (up to
 *   8 per core), and freed memory stays in each; the controller's native allocations come from the main
 *   thread, libuv's pool and V8's helper threads. Measured on the image's node 24 (`npm run bench --
 *   --only=scale --node=24.22.3 --node-args=--optimize-for-size`, with and without it): RSS 117.2 → 106.7 MiB
 *   at 1,000 Images and 129.4 → 117.3 MiB at 5,000, controller CPU 0.201 → 0.193 cores.
 *   (`--optimize-for-size` itself, which NODE_OPTIONS refuses, saved 3–6 MiB but doubled the CPU: not used.)
 */
export const CONTROLLER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
