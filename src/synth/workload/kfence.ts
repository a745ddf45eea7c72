/**
 * kfence: kfence_guarded_alloc()/kfence_guarded_free() (mm/kfence/core.c): a freed object's
 * page is protected (set_memory_valid(…, 1, 0)); reusing a protected object unprotects it.
 */
import type {Rng} from '../rng.js'
import type {Emitter} from './emitter.js'
import type {WorkloadTarget} from './types.js'

export function* kfence(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
  const P = t.pageSize
  const objects = Math.floor((t.kfencePool.end - t.kfencePool.start) / (2 * P)) - 1
  const freelist: number[] = []
  for (let i = 0; i < objects; i++) freelist.push(i)
  const protectedObj = new Array<boolean>(objects).fill(false)
  const allocated: number[] = []
  const comms = ['cat', 'sh', 'systemd-journal', 'kworker/0:1', 'sshd']
  const pageOf = (i: number) => t.kfencePool.start + (2 + 2 * i) * P
  while (!e.done) {
    const cpu = rng.int(cpus)
    const comm = rng.pick(comms)
    const pid = 100 + comms.indexOf(comm)
    if (freelist.length && (allocated.length === 0 || rng.next() < 0.5)) {
      // kfence_guarded_alloc(): FIFO freelist; a previously freed (protected) object is unprotected.
      const i = freelist.shift()!
      if (protectedObj[i]) {
        e.setMemoryValid(cpu, pid, comm, pageOf(i), true)
        protectedObj[i] = false
      }
      allocated.push(i)
    } else if (allocated.length) {
      // kfence_guarded_free(): protect the object page to catch use-after-free.
      const i = allocated.splice(rng.int(allocated.length), 1)[0]!
      e.setMemoryValid(cpu, pid, comm, pageOf(i), false)
      protectedObj[i] = true
      freelist.push(i)
    }
    yield
  }
}
