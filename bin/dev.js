#!/usr/bin/env node
// Development entry point: rebuilds nothing, runs the compiled commands without the manifest
// cache so a fresh `npx tsc -p tsconfig.build.json` is picked up at once.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
