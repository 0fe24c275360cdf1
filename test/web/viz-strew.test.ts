/**
 * The visualiser shows the strew machines, in a real headless Chromium: journals of two real fulcrums
 * (test/fixtures/strew-journals.ts). Scrubbed to when the leader's reeve got the service, its row says its
 * steward is active under a term with the registered service and both reeves, its chip is marked;
 * before the steward started, it is idle and nothing is marked; the selected node's panel lists its
 * strew machines; the member's journal shows it following the leader's steward with the service kept
 * by its heartbeater. A simulator trace without strew renders as before, the strew table hidden.
 */
import test, { type ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildTimeline, type VizTimeline } from '../../actors/viz/model.js'
import { startVizServer } from '../../actors/viz/server.js'
import { readLines } from '../../runtime/replayer.js'
import { strewJournals } from '../fixtures/strew-journals.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = 'test-artifacts'
const HOST = '127.77.242.20'

/** A page showing `timeline`, ready; errors thrown in the page are collected in `errors`. */
async function open(t: ExecutionContext, browser: Browser, timeline: VizTimeline): Promise<{ page: Page; errors: string[] }> {
  const server = await startVizServer({ host: HOST, port: 0, timeline })
  t.teardown(() => server.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(String(err)))
  await page.goto(server.url)
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 })
  return { page, errors }
}

/**
 * When the journal's reeve first held the whole catalog (the registered service and both nodes'
 * pastiche and picket entries) with its own forward answered: the steward's push may overtake the answer to the
 * forward that brought it (`sending`).
 */
const heldAt = (tl: VizTimeline): number => tl.nodes[0]!.strew!.reeve!.find((c) => c[4] === 5 && c[2] === 'idle')![0]

// These callbacks run in the page; the test is compiled without the DOM's types, hence `any`.
const seek = (page: Page, ms: number) =>
  page.$eval('#time', (el: any, v) => {
    el.value = String(v)
    el.dispatchEvent(new (globalThis as any).Event('input'))
  }, ms)
const cell = (page: Page, node: string, m: string) => page.textContent(`#strew-table tr[data-node="${node}"] td[data-m="${m}"]`)

test("the page shows each node's strew machines at the scrubbed moment and marks the node whose steward is active; a journal without strew renders as before", async (t) => {
  t.timeout(180_000)
  if (!existsSync(CHROMIUM)) return t.fail(`${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`)
  const j = await strewJournals(t, ['127.77.242.9', '127.77.242.10'], 23242, '127.77.242.8/29')
  const leader = buildTimeline(readLines(j.leader))
  const member = buildTimeline(readLines(j.member))
  const dir = mkdtempSync(join(tmpdir(), 'crux-viz-'))
  let browser: Browser | undefined
  t.teardown(async () => {
    await browser?.close()
    rmSync(dir, { recursive: true, force: true })
  })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })

  // The leader's journal, when its reeve got the service (the journal ends after the node left its
  // flock, when it has no chip): its steward active, and so marked.
  const L = leader.nodes[0]!.node
  const held = heldAt(leader)
  const { page, errors } = await open(t, browser, leader)
  await seek(page, held)
  t.false(await page.locator('#strew').isHidden(), 'the strew table is shown')
  t.regex((await page.textContent('#strew-legend')) ?? '', /⚙ marks a node whose steward is active/)
  t.is(await page.getAttribute('body', 'data-stewards'), '1')
  t.is(await page.locator('.node.steward').count(), 1, "the leader's chip is marked")
  t.is(await page.locator(`#strew-table tr.steward[data-node="${L}"]`).count(), 1)
  t.regex((await cell(page, L, 'steward')) ?? '', /^active, term of \+\d+\.\d{3} s, catalog v[1-9]\d*, 5 endpoint\(s\), 2 reeve\(s\)$/)
  const term = (await cell(page, L, 'steward'))!.split(', ')[1]!
  t.is(await cell(page, L, 'follower'), `leading · following → steward ${j.grpc[0]}, ${term}`)
  t.regex((await cell(page, L, 'reeve')) ?? '', /^idle, catalog v[1-9]\d* \(5\), 2 local$/)
  t.regex((await cell(page, L, 'registry')) ?? '', /^active, term of \+\d+\.\d{3} s, [2-9] key\(s\)$/)

  // Before its steward started: idle, nothing marked.
  const started = leader.nodes[0]!.strew!.steward!.find((c) => c[2] === 'active')![0]
  await seek(page, started - 1)
  t.is(await cell(page, L, 'steward'), 'idle')
  t.is(await page.getAttribute('body', 'data-stewards'), '0')
  t.is(await page.locator('.node.steward').count(), 0)
  t.false(((await cell(page, L, 'follower')) ?? '').includes(term), 'not yet following its own steward')

  // The selected node's panel: its strew machines now, and what caused their latest changes.
  await seek(page, held)
  await page.locator('.node').first().click()
  t.regex((await page.textContent('#strew-now dd[data-m="steward"]')) ?? '', /^active, /)
  t.regex((await page.textContent('#strew-recent')) ?? '', /follower: leading · following → steward .* ← registry\.done/)
  t.is(await page.locator(`#strew-table tr.selected[data-node="${L}"]`).count(), 1)
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, 'viz-strew-leader.png'), fullPage: true })
  t.deepEqual(errors, [])

  // The member's journal, when its reeve got the service: following the leader's steward, the service
  // local and kept by heartbeats.
  const M = member.nodes[0]!.node
  const m = await open(t, browser, member)
  await seek(m.page, heldAt(member))
  t.is(await cell(m.page, M, 'steward'), 'idle')
  t.regex((await cell(m.page, M, 'follower')) ?? '', new RegExp(`^notLeading · following → steward ${j.grpc[0].replace(/\./g, '\\.')}, term of `))
  t.regex((await cell(m.page, M, 'reeve')) ?? '', /^idle, catalog v[1-9]\d* \(5\), 3 local$/)
  t.is(await cell(m.page, M, 'heartbeater'), '1 kept, 1 up')
  t.is(await m.page.getAttribute('body', 'data-stewards'), '0')
  t.deepEqual(m.errors, [])

  // A journal without strew (a simulator run without services): drawn as before, no strew table.
  const trace = join(dir, 'plain.ndjson')
  const sim = spawnSync(process.execPath, ['dist/bin/crux.js', 'sim', '--nodes', '5', '--seed', '4', '--until-hb', '15', '--trace', trace], { encoding: 'utf8' })
  t.is(sim.status, 0, sim.stderr)
  const plain = await open(t, browser, buildTimeline(readLines(trace)))
  t.true(await plain.page.locator('#strew').isHidden())
  t.is(await plain.page.getAttribute('body', 'data-flocks'), '1')
  t.is(await plain.page.locator('.node').count(), 5)
  t.is(await plain.page.locator('.node.leader').count(), 1)
  await plain.page.locator('.node:not(.leader)').first().click()
  t.regex((await plain.page.textContent('#why')) ?? '', /is not leader: it follows n\d+/)
  t.is(await plain.page.locator('#strew-now').count(), 0)
  t.deepEqual(plain.errors, [])
})
