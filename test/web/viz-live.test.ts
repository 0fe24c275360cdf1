/**
 * `crux demo` (what `npm start` runs) with its live visualiser, in headless Chromium: the page, fed
 * by the demo's beacon through the status analyser and by the nodes' own Confab answers, shows one
 * stable flock of 5 with every node in it; a click on a node explains why it is, or is not, leader;
 * Ctrl-C stops it all.
 */
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'
const NODES = 5

test('the demo visualiser shows one stable flock of 5 with every node, and explains a clicked node, live', async (t) => {
  if (!existsSync(CHROMIUM)) return t.fail(`${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`)
  const demo = spawn(process.execPath, ['dist/bin/crux.js', 'demo', '--nodes', String(NODES), '--base', '127.77.130.1', '--heartbeat', '200', '--viz-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((r) => demo.on('exit', (code) => r(code)))
  // A failed run still stops the fulcrums: Ctrl-C makes the demo stop them; SIGKILL only if it hangs.
  t.teardown(async () => {
    if (demo.exitCode !== null) return
    demo.kill('SIGINT')
    const timer = setTimeout(() => demo.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
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
  await page.waitForFunction(
    (n) => {
      const els = (globalThis as any).document.querySelectorAll('.flock')
      return els.length === 1 && els[0].dataset.nodes === String(n) && els[0].querySelector('h3').textContent.endsWith('· stable') && els[0].querySelectorAll('.node').length === n
    },
    NODES,
    { timeout: 30_000 },
  )
  const heading = (await page.textContent('.flock h3')) ?? ''
  t.regex(heading, /· 5 node\(s\) · leader \S+ · stable$/)
  const leader = /leader (\S+)/.exec(heading)![1]!
  const nodes = await page.$$eval('.flock .node', (els) => els.map((e) => ({ id: (e as any).dataset.node as string, role: (e as any).dataset.role as string, addr: (e as any).dataset.addr as string })))
  t.is(nodes.length, NODES)
  t.deepEqual(nodes.map((n) => n.addr).sort(), [1, 2, 3, 4, 5].map((i) => `127.77.130.${i}:23123`))
  t.is(nodes.filter((n) => n.role.startsWith('leader')).length, 1)
  t.is(nodes.find((n) => n.role.startsWith('leader'))!.id, leader)
  t.is(await page.locator('.flock .node.leader').count(), 1)

  // A member: it is not leader, and the page says whom it follows and why.
  const member = nodes.find((n) => n.id !== leader)!
  await page.click(`.node[data-node="${member.id}"]`)
  await page.waitForFunction((id) => ((globalThis as any).document.getElementById('why')?.textContent ?? '').startsWith(id), member.id, { timeout: 5_000 })
  const why = (await page.textContent('#why')) ?? ''
  t.true(why.startsWith(`${member.id} is not leader: it follows ${leader} `), why)
  t.regex(why, /election rule/)
  t.regex((await page.textContent('#basis')) ?? '', /Based on its own Confab answer at .*crux replay FILE --explain/)

  // The leader: it is leader, and its members name it so.
  await page.click(`.node[data-node="${leader}"]`)
  await page.waitForFunction((id) => ((globalThis as any).document.getElementById('why')?.textContent ?? '').startsWith(id), leader, { timeout: 5_000 })
  t.regex((await page.textContent('#why')) ?? '', new RegExp(`^${leader} is leader of flock \\S+ \\(leader\\.\\w+, epoch \\S+\\): 4 of the 4 other node\\(s\\) known in it name it as their leader`))

  demo.kill('SIGINT')
  t.is(await exited, 0)
  t.is(spawnSync('pgrep', ['-f', 'fulcrum --listen 127.77.130.'], { encoding: 'utf8' }).stdout.trim(), '', 'no fulcrum left running')
})
