// Adds up vitest's JSON reports into the one closing line CI reads: "N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof report.numPassedTests !== 'number') throw new Error('not a vitest report');
  } catch {
    // A suite that crashed before writing its report counts as one failure, never as silence.
    console.error(`test-summary: no report in ${file}; counting the suite as failed`);
    failed += 1;
    continue;
  }
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
