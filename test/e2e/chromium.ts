/**
 * Headless Chromium for the report's end-to-end test and benchmark: Debian's /usr/bin/chromium
 * driven by playwright-core (never a downloaded browser). Everything that would reach the
 * network is off; the page under test loads from a file: URL.
 */
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {Browser, BrowserContext} from 'playwright-core'

export const CHROMIUM_PATH = process.env.PTREPLAY_CHROMIUM ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Why the browser cannot run here, or undefined when it can. */
export function chromiumUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) return `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium; .ci/run tries)`
  return undefined
}

export interface Chromium {
  browser: Browser | undefined
  context: BrowserContext
  close: () => Promise<void>
}

/** A fresh browser with a new empty profile directory. */
export async function launchChromium(): Promise<Chromium> {
  const {chromium} = await import('playwright-core')
  const profile = mkdtempSync(join(tmpdir(), 'ptreplay-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: {width: 1280, height: 900},
  })
  return {
    browser: context.browser() ?? undefined,
    context,
    close: async () => {
      await context.close()
      rmSync(profile, {recursive: true, force: true})
    },
  }
}
