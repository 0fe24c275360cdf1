/**
 * The visualiser in a real headless Chromium (Debian's chromium, driven by playwright-core): a
 * simulator trace with a partition and a heal; scrubbed to before the heal the page shows two
 * flocks, after it one; a node explains itself; a what-if re-run without the partition shows one
 * flock throughout. A screenshot is kept in test-artifacts/.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { buildTimeline } from '../../actors/viz/model.js'
import { startVizServer } from '../../actors/viz/server.js'
import { readLines } from '../../runtime/replayer.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = 'test-artifacts'

test('scrubbing a partitioned-then-healed simulation shows two flocks before the heal and one after; a node says why', async (t) => {
  if (!existsSync(CHROMIUM)) return t.fail(`${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`)
  const dir = mkdtempSync(join(tmpdir(), 'crux-viz-'))
  const trace = join(dir, 'run.ndjson')
  // 12 nodes; split in 2 at HB 10, healed at HB 25 (faults land at t = 9 000 and 24 000 ms).
  const sim = spawnSync(process.execPath, ['dist/bin/crux.js', 'sim', '--nodes', '12', '--seed', '2', '--partition', '10:2:25', '--trace', trace], { encoding: 'utf8' })
  t.is(sim.status, 0, sim.stderr)
  const timeline = buildTimeline(readLines(trace))
  const heal = timeline.notes.find((n) => JSON.parse(n.note).kind === 'heal')!.t
  const split = timeline.notes.find((n) => JSON.parse(n.note).kind === 'partition')!.t
  const server = await startVizServer({ host: '127.77.38.1', port: 0, timeline })
  let browser: Browser | undefined
  t.teardown(async () => {
    await browser?.close()
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const t0 = Date.now()
  await page.goto(server.url)
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 })
  t.log(`interactive ${Date.now() - t0} ms after navigation (${timeline.nodes.length} nodes, ${timeline.steps} steps)`)

  // These callbacks run in the page; the test is compiled without the DOM's types, hence `any`.
  const seek = (ms: number) => page.$eval('#time', (el: any, v) => {
    el.value = String(v)
    el.dispatchEvent(new (globalThis as any).Event('input'))
  }, ms)
  const flocks = async () => Number(await page.getAttribute('body', 'data-flocks'))

  await seek(heal - 1000) // well inside the partition, after both halves settled
  t.is(await flocks(), 2, 'two flocks while partitioned')
  const halves = await page.$$eval('.flock', (els) => els.map((e: any) => Number(e.dataset.nodes)))
  t.deepEqual(halves, [6, 6])
  t.is(await page.locator('.node.leader').count(), 2, 'one leader marked in each')

  await seek(timeline.t1)
  t.is(await flocks(), 1, 'one flock after the heal')
  t.deepEqual(await page.$$eval('.flock', (els) => els.map((e: any) => Number(e.dataset.nodes))), [12])
  t.is(await page.locator('.node.leader').count(), 1)

  await page.locator('.node:not(.leader)').first().click()
  t.regex((await page.textContent('#why')) ?? '', /is not leader: it follows n\d+ in \S+ since seq \d+: rule [a-z-]+, caused by /)
  t.true((await page.locator('#panel li').count()) > 1, 'its recent transitions are listed')
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, 'viz-after-heal.png') })

  await seek(split + 1)
  await page.click('#fwd')
  t.true(Number(await page.$eval('#time', (el: any) => el.value)) > split + 1, 'the step button moves to the next change')

  // What-if: the same seed without the partition never splits.
  await page.fill('input[name=untilHb]', '30')
  await page.click('#whatif-form button[type=submit]')
  await page.waitForFunction(() => (globalThis as any).document.getElementById('summary').textContent.startsWith('what-if'), undefined, { timeout: 30_000 })
  await seek(heal - 1000)
  t.is(await flocks(), 1, 'without the partition: one flock at the same moment')
  t.regex((await page.textContent('#compare')) ?? '', /what-if\s*\d+/)

  // Faults from the page: a dropped link is run; a link to a node that does not exist is refused.
  await page.fill('input[name=dropAt]', '5')
  await page.fill('input[name=dropA]', '0')
  await page.fill('input[name=dropB]', '1')
  await page.click('#whatif-form button[type=submit]')
  await page.waitForFunction(() => /^what-if: (agreed|did not)/.test((globalThis as any).document.getElementById('summary').textContent), undefined, { timeout: 30_000 })
  await page.fill('input[name=dropB]', '99')
  await page.click('#whatif-form button[type=submit]')
  await page.waitForFunction(() => (globalThis as any).document.getElementById('summary').textContent.startsWith('what-if refused'), undefined, { timeout: 30_000 })
  t.regex((await page.textContent('#summary')) ?? '', /dropLink\.b must be an integer in \[0, 11\]/)

  // With every node's strew machines: the comparison shows its strew violations (none).
  for (const k of ['dropAt', 'dropA', 'dropB']) await page.fill(`input[name=${k}]`, '')
  await page.fill('input[name=services]', '1')
  await page.click('#whatif-form button[type=submit]')
  await page.waitForFunction(() => /^what-if: (agreed|did not)/.test((globalThis as any).document.getElementById('summary').textContent), undefined, { timeout: 60_000 })
  t.is(await page.$eval('#compare tr:last-child td:last-child', (el: any) => el.textContent), '0', 'strew violations of the what-if run')
})
