/**
 * The default run (npm test) and the `full` vitest project (npm run test:full, which sets
 * PTREPLAY_FULL_TESTS=1): tests that walk every line of a long trace or run thousands of
 * property cases do a fixed sample of that work by default and all of it in `full`. Counts, not
 * time budgets, so a run does the same work on any machine.
 */
export const FULL = process.env.PTREPLAY_FULL_TESTS === '1'

/** fast-check's numRuns: `n` in the full project, a fifth of it (at least `min`) by default. */
export function runs(n: number, min = 20): number {
  return FULL ? n : Math.max(min, Math.round(n / 5))
}
