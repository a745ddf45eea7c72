import {defineConfig} from 'vitest/config'

// Two projects: "default" (npm test: fast, samples the long real traces, runs the quick
// documented examples) and "full" (npm run test:full: the checks that walk every line of every
// real trace, and every README and --help example; CI runs it when PTREPLAY_FULL_TESTS=1).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    projects: [
      {extends: true, test: {name: 'default', include: ['test/**/*.test.ts']}},
      {extends: true, test: {name: 'full', include: ['test/ingest/trace/fastpath.test.ts', 'test/cli/examples.test.ts', 'test/commands/events.test.ts', 'test/golden/samples.test.ts'], env: {PTREPLAY_FULL_TESTS: '1'}}},
    ],
  },
})
