/**
 * Who the flock's catalog says holds a blob: each member's pastiche registers with tags naming the
 * blobs it holds (machines/pastiche/announce.ts), and every node's machine takes its peers' holdings
 * from its own copy of the catalog (actors/pastiche/peers.ts). A benchmark that removes copies waits
 * here until every node's copy has caught up, so no machine splits a blob among holders that are gone.
 */
import type { ReeveClient } from '../../actors/strew/client.js'
import { holdTag, PASTICHE_API } from '../../machines/pastiche/announce.js'
import { sleep } from './pastiche-fleet.js'

/** The addresses a node's catalog lists, up, as holding `hash` of `bytes` bytes, sorted. */
export async function catalogHolders(reeve: ReeveClient, hash: string, bytes: number): Promise<string[]> {
  const tag = holdTag(hash, bytes)
  const { endpoints } = await reeve.catalog({ api: PASTICHE_API })
  return endpoints.filter((e) => e.state === 'up' && (e.tags ?? []).includes(tag)).map((e) => e.address).sort()
}

/**
 * Waits until every node's catalog (`reeves`, named `names` in errors) lists exactly `holders`
 * (addresses) as holding the blob; the seconds it took. Throws after `boundMs`, naming a node whose
 * catalog said otherwise and what it said.
 */
export async function untilCatalogHolders(reeves: ReeveClient[], names: string[], hash: string, bytes: number, holders: string[], boundMs: number): Promise<number> {
  const want = JSON.stringify([...holders].sort())
  const t0 = performance.now()
  for (;;) {
    const seen = await Promise.all(reeves.map((r) => catalogHolders(r, hash, bytes).then(JSON.stringify)))
    const wrong = seen.findIndex((s) => s !== want)
    if (wrong < 0) return (performance.now() - t0) / 1000
    if (performance.now() - t0 > boundMs) throw new Error(`the catalog of ${names[wrong]} lists ${seen[wrong]} as holders, ${want} expected, ${boundMs / 1000} s on`)
    await sleep(100)
  }
}
