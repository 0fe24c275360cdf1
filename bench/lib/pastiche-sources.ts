/**
 * Where a fulcrum's pastiche machine got its bytes, read from the node's journal (`crux fulcrum
 * --trace FILE`): the `fetch` sends of its `<node>/pastiche` actor (each range's peer) and the
 * `fetched` answers it was given (how each range ended). Read line by line, so a journal of any size
 * costs one line of memory at a time.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

export interface RangeSources {
  /** Bytes of ranges answered ok, per peer address (HOST:PORT). */
  okBytes: Record<string, number>
  /** Ranges that ended bad or failed, per peer address. */
  notOkRanges: Record<string, number>
  /** Ranges the machine sent, and how many ended ok, bad or failed. */
  ranges: number
  ok: number
  bad: number
  failed: number
}

/** Reads `trace`, a journal written by one fulcrum. */
export async function rangeSources(trace: string): Promise<RangeSources> {
  /** Seqs of the pastiche actor's inputs: their result records hold its sends. */
  const seqs = new Set<number>()
  const from = new Map<number, string>()
  const answers: Array<{ id: number; result: string; bytes: number }> = []
  const lines = createInterface({ input: createReadStream(trace), crlfDelay: Infinity })
  for await (const line of lines) {
    // Cheap filters first: most lines are the flock's.
    if (line.includes('"actor":') && line.includes('/pastiche"')) {
      const r = JSON.parse(line) as { seq: number; actor: string; in?: { type: string; id?: number; result?: string; bytes?: number } }
      if (!r.actor.endsWith('/pastiche')) continue
      seqs.add(r.seq)
      if (r.in?.type === 'fetched') answers.push({ id: r.in.id!, result: r.in.result!, bytes: r.in.bytes ?? 0 })
    } else if (line.includes('"out":') && line.includes('"fetch"')) {
      const r = JSON.parse(line) as { seq: number; out?: Array<{ type: string; event?: { type: string; id: number; from: string } }> }
      if (!seqs.has(r.seq)) continue
      for (const e of r.out ?? []) if (e.type === 'send' && e.event?.type === 'fetch') from.set(e.event.id, e.event.from)
    }
  }
  const out: RangeSources = { okBytes: {}, notOkRanges: {}, ranges: from.size, ok: 0, bad: 0, failed: 0 }
  for (const a of answers) {
    const peer = from.get(a.id) ?? '?'
    if (a.result === 'ok') {
      out.ok++
      out.okBytes[peer] = (out.okBytes[peer] ?? 0) + a.bytes
    } else {
      if (a.result === 'bad') out.bad++
      else out.failed++
      out.notOkRanges[peer] = (out.notOkRanges[peer] ?? 0) + 1
    }
  }
  return out
}

/**
 * The sources of several receivers' journals together, A being the peer at `a`: MiB that came from A
 * and from the other nodes, ranges and how they ended (and how many of those not ok were asked of A),
 * and how many receivers got every byte from A.
 */
export async function summarizeSources(traces: string[], a: string): Promise<Record<string, number>> {
  const all = await Promise.all(traces.map(rangeSources))
  const mib = (n: number) => Math.round((n / (1 << 20)) * 10) / 10
  let fromA = 0
  let fromPeers = 0
  let onlyA = 0
  let notOkAtA = 0
  for (const s of all) {
    const peers = Object.entries(s.okBytes).filter(([p]) => p !== a)
    fromA += s.okBytes[a] ?? 0
    fromPeers += peers.reduce((n, [, b]) => n + b, 0)
    if (peers.length === 0) onlyA++
    notOkAtA += s.notOkRanges[a] ?? 0
  }
  const sum = (k: 'ranges' | 'ok' | 'bad' | 'failed') => all.reduce((n, s) => n + s[k], 0)
  return { from_a_mib: mib(fromA), from_peers_mib: mib(fromPeers), ranges: sum('ranges'), ok: sum('ok'), bad: sum('bad'), failed: sum('failed'), not_ok_from_a: notOkAtA, nodes_only_from_a: onlyA }
}
