import {defineConfig} from 'vitest/config'

// Two projects: "default" (npm test: fast, samples the long real traces, runs the quick
// documented examples) and "full" (npm run test:full: the checks that walk every line of every
// real trace, and every README and --help example; CI runs it when PTREPLAY_FULL_TESTS=1).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    // vitest's default on a 2-core machine is one worker (CPUs - 1); the main process only
    // collects results, so two test files at a time use both cores.
    maxWorkers: 2,
    projects: [
      {extends: true, test: {name: 'default', include: ['test/**/*.test.ts']}},
      {extends: true, test: {name: 'full', include: ['test/ingest/trace/fastpath.test.ts', 'test/cli/examples.test.ts', 'test/commands/events.test.ts', 'test/golden/samples.test.ts',
        // property tests: fast-check runs a fifth of numRuns by default (test/helpers/full.ts)
        'test/ingest/trace/fastpath-tools.test.ts', 'test/ingest/trace/bpftrace.test.ts', 'test/ingest/ptdump/fuzz.test.ts', 'test/fuzz/cli.fuzz.test.ts',
        // the whole-trace 6.19 checks the default run leaves to the full project
        'test/commands/verify.test.ts'], env: {PTREPLAY_FULL_TESTS: '1'}}},
    ],
  },
})
