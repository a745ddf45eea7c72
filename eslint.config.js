// ESLint 9 flat config: eslint's and typescript-eslint's recommended rules, tuned to the code as it
// is. No formatting rules: the layout of the code is its style (see .editorconfig); no type-aware
// rules, so `npm run lint` stays fast on CI's 2 cores.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'test-output/', 'bench-output/', 'samples/', 'oclif.manifest.json']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // The code marks deliberately unused parameters, bindings and destructured-away fields
      // with a leading underscore (`_enc`, `const {_m, ...rest}`, `for (const _ of …)`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true},
      ],
      // A `let` read by closures before its one assignment (e.g. a decoder whose callback
      // needs the stream created first) stays `let`.
      'prefer-const': ['error', {ignoreReadBeforeAssign: true}],
    },
  },
  {
    // The few plain JavaScript files (bin/, configs) run on Node; TypeScript checks the rest.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {globals: {process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly', __dirname: 'readonly'}},
  },
  {
    // Tests assert on terminal escape sequences (`/\x1b\[/`), which is what this rule forbids.
    files: ['test/**/*.ts'],
    rules: {'no-control-regex': 'off'},
  },
)
