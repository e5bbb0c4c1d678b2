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
