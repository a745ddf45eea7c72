/**
 * The flag parsers shared by the commands: `--map NAME=KIND` (events, replay, compare, verify)
 * and `--policies` (compare). Bad values are one-line input errors (exit 2), named by the flag.
 */
import {describe, expect, it} from 'vitest'

import {parseMapFlag} from '../../src/cli/flags.js'
import {parsePolicyList} from '../../src/cli/replay-flags.js'
import {InputError} from '../../src/ingest/source.js'
import {POLICIES} from '../../src/kernel/policy.js'

describe('--map NAME=KIND', () => {
  it('a table of names; the first = splits, so KIND may hold one', () => {
    expect(parseMapFlag(['ro=set_memory_ro', 'x=a=b'])).toEqual({ro: 'set_memory_ro', x: 'a=b'})
    expect(parseMapFlag(undefined)).toBeUndefined()
    expect(parseMapFlag([])).toBeUndefined()
  })
  it('a value without NAME or KIND is an input error naming it', () => {
    for (const bad of ['nokind', '=set_memory_ro', 'ro=']) {
      expect(() => parseMapFlag([bad])).toThrow(InputError)
      expect(() => parseMapFlag([bad])).toThrow(`--map ${bad}: expected NAME=KIND`)
    }
  })
})

describe('--policies', () => {
  it('names in order, blanks dropped, auto allowed', () => {
    expect(parsePolicyList(' auto, pte-only,,bbml2 ')).toEqual(['auto', 'pte-only', 'bbml2'])
  })
  it('none, or an unknown name, is an input error listing the known ones', () => {
    expect(() => parsePolicyList(' , ')).toThrow('--policies: give at least one policy')
    expect(() => parsePolicyList('bbml2,bbml9')).toThrow(`--policies: unknown policy "bbml9" (known: ${Object.keys(POLICIES).join(', ')}, auto)`)
  })
})
