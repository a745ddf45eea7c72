/**
 * loadFacts reads the files a capture bundle keeps beside its snapshots, on the real captures:
 * which file stands for each fact, and the config's search order (a full config-<release> before
 * an excerpt, the snapshot's folder before the one above it).
 */
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {kernelLine, loadFacts} from '../../src/capture/facts.js'

const D61 = 'samples/debian-6.1-qemu/max-2G-default'
const D73 = 'samples/linux-7.3-debian-qemu/ampere1a-2G-default'

describe('loadFacts', () => {
  it('6.1 bundle: version.txt, cmdline, cpuinfo, dmesg.txt and the config excerpt of its own folder', () => {
    const {facts, files} = loadFacts(`${D61}/kernel_page_tables.before`)
    expect(files).toEqual([`${D61}/version.txt`, `${D61}/cmdline`, `${D61}/cpuinfo`, `${D61}/dmesg.txt`, `${D61}/config.excerpt`])
    expect(facts.version).toBe(readFileSync(`${D61}/version.txt`, 'utf8'))
    expect(facts.config).toBe(readFileSync(`${D61}/config.excerpt`, 'utf8'))
    expect(facts.idAa64mmfr2).toBeUndefined()
  })

  it('7.3 bundle: dmesg.boot.txt before dmesg.txt, and the full config-<release> one folder up', () => {
    const {facts, files} = loadFacts(`${D73}/kernel_page_tables.probed`)
    expect(files).toContain(`${D73}/dmesg.boot.txt`)
    expect(files).not.toContain(`${D73}/dmesg.txt`)
    expect(files.at(-1)).toBe('samples/linux-7.3-debian-qemu/config-7.3.4+deb13-arm64')
    expect(facts.dmesg).toBe(readFileSync(`${D73}/dmesg.boot.txt`, 'utf8'))
  })

  it('a bundle directory reads as the snapshots in it; stdin has no facts', () => {
    expect(loadFacts(D61)).toEqual(loadFacts(`${D61}/kernel_page_tables.after`))
    expect(loadFacts('-')).toEqual({facts: {}, files: []})
    expect(loadFacts('<stdin>')).toEqual({facts: {}, files: []})
  })

  it("kernelLine: version.txt's first line, or nothing", () => {
    expect(kernelLine(loadFacts(D61).facts)).toBe(readFileSync(`${D61}/version.txt`, 'utf8').split('\n')[0])
    expect(kernelLine({})).toBeUndefined()
  })
})
