import type { Reporter, SerializedError, TestModule } from "vitest/node";

/**
 * Prints the run's plain closing line, `tests: N passed, N failed, N skipped`, after
 * vitest's own summary, so CI tooling that reads closing lines counts this suite.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed += 1;
        else if (state === "failed") counts.failed += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load has no tests to count; it still fails the run.
      if (module.state() === "failed" && module.children.size === 0) counts.failed += 1;
    }
    // An unhandled error fails the run too, though no test owns it.
    counts.failed += unhandledErrors.length;
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
