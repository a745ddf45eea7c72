#!/usr/bin/env node
// @oclif/core's index checks, on import, that Node satisfies its own `engines` (>=18) with the
// whole of semver: about 60 ms of CPU on every run. package.json's engines (>=20)
// is stricter, so the check can never warn on a Node ptreplay supports: skip it, unless the
// user set the variable, and do not pass the setting on to anything this process starts.
const engineCheck = process.env.OCLIF_DISABLE_ENGINE_WARNING
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {execute} = await import('@oclif/core')
if (engineCheck === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck

await execute({dir: import.meta.url})
