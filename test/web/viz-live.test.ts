/**
 * `crux demo` (what `npm start` runs) with its live visualiser, in headless Chromium: the page, fed
 * by the demo's beacon through the status analyser, shows one stable flock of 5; Ctrl-C stops it all.
 */
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'

test('the demo visualiser shows one stable flock of 5, live from the beacon', async (t) => {
  if (!existsSync(CHROMIUM)) return t.fail(`${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`)
  const demo = spawn(process.execPath, ['dist/bin/crux.js', 'demo', '--base', '127.77.39.1', '--heartbeat', '200', '--viz-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((r) => demo.on('exit', (code) => r(code)))
  t.teardown(() => {
    if (demo.exitCode === null) demo.kill('SIGKILL')
  })
  let out = ''
  demo.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no visualiser URL: ${out}`)), 30_000)
    demo.stdout.on('data', () => {
      const m = /visualiser: (\S+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
  })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  await page.goto(url)
  await page.waitForSelector('body[data-ready="1"]')
  // Stable means the same leader and size for 5 s: allow formation plus that, generously.
  await page.waitForFunction(() => {
    const els = (globalThis as any).document.querySelectorAll('.flock')
    return els.length === 1 && els[0].dataset.nodes === '5' && els[0].textContent.includes('stable')
  }, undefined, { timeout: 60_000 })
  t.regex((await page.textContent('.flock h3')) ?? '', /· 5 node\(s\) · leader \S+ · stable$/)
  demo.kill('SIGINT')
  t.is(await exited, 0)
  t.is(spawnSync('pgrep', ['-f', 'fulcrum --listen 127.77.39.'], { encoding: 'utf8' }).stdout.trim(), '', 'no fulcrum left running')
})
