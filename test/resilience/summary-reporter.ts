/**
 * The resilience suite's closing line: `faults survived X/Y; bad inputs A/B; hostile registries H/I; leaks N`.
 *
 * Tests are counted by the tag their name starts with (`fault: …`, `bad input: …`, `hostile: …`); anything but a pass
 * counts against (a failure, or a skip because the shared system never started). `leaks` is what the
 * secret-leak test recorded in its task meta; when it did not get that far the count is unknown, and the
 * line says so rather than printing 0. Printed after vitest's own summary, whatever the outcome.
 */
import type { Reporter, TestModule } from 'vitest/node';

export const FAULT_TAG = 'fault: ';
export const BAD_INPUT_TAG = 'bad input: ';
export const HOSTILE_TAG = 'hostile: ';

declare module 'vitest' {
  interface TaskMeta {
    /** (place, form) pairs where the planted secret was found; set by the leak test. */
    leaks?: number;
  }
}

export default class ResilienceSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const faults = { passed: 0, total: 0 };
    const badInputs = { passed: 0, total: 0 };
    const hostile = { passed: 0, total: 0 };
    let leaks: number | undefined;
    const unloaded: string[] = [];
    for (const module of testModules) {
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) unloaded.push(module.moduleId);
      for (const test of module.children.allTests()) {
        const tally = [
          [FAULT_TAG, faults],
          [BAD_INPUT_TAG, badInputs],
          [HOSTILE_TAG, hostile],
        ].find(([tag]) => test.name.startsWith(tag as string))?.[1] as typeof faults | undefined;
        const passed = test.result().state === 'passed';
        if (tally) {
          tally.total++;
          if (passed) tally.passed++;
        }
        const recorded = test.meta().leaks;
        if (typeof recorded === 'number') leaks = (leaks ?? 0) + recorded;
      }
    }
    for (const moduleId of unloaded) console.log(`resilience: ${moduleId} did not load; its tests are missing from the counts`);
    console.log(
      `faults survived ${faults.passed}/${faults.total}; bad inputs ${badInputs.passed}/${badInputs.total}; ` +
        `hostile registries ${hostile.passed}/${hostile.total}; leaks ${leaks ?? 'unknown (the leak test did not finish)'}`,
    );
  }
}
