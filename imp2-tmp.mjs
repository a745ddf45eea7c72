process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
const step = async (m) => { const c0 = process.cpuUsage(); await import(m); const c = process.cpuUsage(c0); console.log(((c.user + c.system) / 1000).toFixed(1).padStart(7), m) }
for (const m of process.argv.slice(2)) await step(m)
