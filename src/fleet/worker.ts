/**
 * Worker thread of `ptreplay fleet`: audits the hosts it is sent, one at a time (./pool.ts).
 */
import {parentPort, workerData} from 'node:worker_threads'

import {type HostAuditOptions, auditHost, describeHostError} from './host.js'
import type {HostInput} from './inputs.js'

const opts = (workerData ?? {}) as HostAuditOptions

parentPort!.on('message', (task: {id: number; input: HostInput}) => {
  auditHost(task.input, opts).then(
    (value) => parentPort!.postMessage({id: task.id, ok: true, value}),
    (e: unknown) => parentPort!.postMessage({id: task.id, ok: false, error: describeHostError(e)}),
  )
})
