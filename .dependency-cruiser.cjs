/**
 * Import rules for src/ (and bench/), checked by `npm run deps` in CI (.ci/run).
 *
 * The layers: ingest (readers → typed records) → model (geometry, page tables) → kernel (kernel
 * mechanisms) → replay (engine, verification) → report (metrics, renderers); commands is the
 * oclif layer on top. See ARCHITECTURE.md for the graph as it is.
 */

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports included).',
      severity: 'error',
      from: {},
      to: {circular: true},
    },
    {
      name: 'model-imports-only-model',
      comment: 'src/model is the bottom layer: geometry and page tables import nothing else of ours.',
      severity: 'error',
      from: {path: '^src/model/'},
      to: {path: '^(src|bench|test)/', pathNot: '^src/model/'},
    },
    {
      name: 'kernel-not-above',
      comment: 'The kernel mechanisms never import readers, the replay engine, reports or commands.',
      severity: 'error',
      from: {path: '^src/kernel/'},
      to: {path: '^src/(ingest|replay|report|commands)/'},
    },
    {
      name: 'comparison-only-by-dispatch',
      comment: 'The x86 CPA comparison is chosen in src/kernel/dispatch.ts; the arm64 mirrors never name it.',
      severity: 'error',
      from: {path: '^src/kernel/', pathNot: '^src/kernel/(dispatch|index|x86-cpa)[.]ts$'},
      to: {path: '^src/kernel/x86-cpa[.]ts$'},
    },
    {
      name: 'replay-not-above',
      comment: 'The replay engine and verification produce structured results; reports render them. Replay never imports reports, commands or the CLI.',
      severity: 'error',
      from: {path: '^src/replay/'},
      to: {path: '^src/(report|commands|cli)/'},
    },
    {
      name: 'report-not-commands',
      comment: 'Renderers never import the oclif layer.',
      severity: 'error',
      from: {path: '^src/report/'},
      to: {path: '^src/commands/'},
    },
    {
      name: 'src-not-tests',
      comment: 'Shipped code never imports tests or benchmarks.',
      severity: 'error',
      from: {path: '^src/'},
      to: {path: '^(test|bench)/'},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '^(dist|node_modules)/'},
    tsConfig: {fileName: 'tsconfig.json'},
    // Count `import type` edges too: a type-only cycle is still two modules that cannot be read
    // one without the other.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js']},
  },
}
