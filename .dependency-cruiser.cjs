/**
 * Import rules for src/ (and bench/), checked by `npm run deps` in CI (.ci/run).
 *
 * The layers: ingest (readers → typed records) → model (geometry, page tables) → kernel (kernel
 * mechanisms) → replay (engine, verification) → report (metrics, renderers); commands is the
 * oclif layer on top. See ARCHITECTURE.md for the graph as it is.
 */

/**
 * Cycles that exist today, each with the change that removes it. A cycle is allowed only when
 * every module in it is in one of these groups; any other cycle fails. Delete a group when its
 * change lands (and `npm run deps` still passes): the rule then guards it for good.
 */
const KNOWN_CYCLES = [
  // pageattr → x86-cpa → collapse → pageattr, and collapse ↔ pageattr: the x86 CPA dispatch
  // inside the arm64 pageattr mirror and VmArea living in pageattr. Removed by issue 11 item 1
  // (x86 dispatch moves to the policy/dispatch layer, VmArea to src/kernel/vmalloc.ts).
  '^src/kernel/(pageattr|collapse|x86-cpa)[.]ts$',
  // probe-event → scan → types → probe-event (type-only edges): the reader contract in
  // types.ts names the fast-path types of probe-event.ts. Removed by issue 11 item 3 (the
  // tracefs fast path in its own module behind the common reader contract).
  '^src/ingest/trace/(probe-event|scan|types)[.]ts$',
]
const KNOWN = KNOWN_CYCLES.map((re) => `(${re})`).join('|')

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports included). Known ones: KNOWN_CYCLES above.',
      severity: 'error',
      from: {pathNot: KNOWN},
      to: {circular: true},
    },
    {
      name: 'no-new-circular-via-known',
      comment: 'A module of a known cycle may not join a new cycle through other modules.',
      severity: 'error',
      from: {path: KNOWN},
      to: {circular: true, viaSomeNot: KNOWN},
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
