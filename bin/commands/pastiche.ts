/**
 * `crux pastiche put|get|has|ls|pin|unpin|gc|fetch|want|unwant` (CLI.md, Artifacts (pastiche)): a node's blob
 * store over its PasticheService, on the flock's mutual TLS with `--data-dir`'s node key (the store
 * takes calls from its own node and its flock's members; pin, unpin, gc and fetch from its own node
 * only). Progress (bytes, rate, ETA) goes to stderr when it is a terminal; `--json` prints one line.
 *
 * A directory travels as the deterministic tar (docs/PASTICHE.md); `get` unpacks a blob that starts
 * like one (actors/pastiche/kind.ts) unless `--raw`, after its hash was verified in full. `get` of a
 * blob the node lacks has the node want it (its pastiche machine fetches it from the peers that hold
 * it), waits until it is held, downloads it, and withdraws the holding unless it was wanted before.
 */
import type { Command } from 'commander'
import { catalogNodes, explainCall, hashArg, reach, say, using, type Reach } from './reach.js'
import type { PasticheClient } from '../../actors/pastiche/client.js'
import { Code, CruxError, InvalidArgumentError, isRemoteError, NotFoundError } from '../../runtime/errors.js'
import { isNodeId } from '../../runtime/node-identity.js'
import { target } from '../flags.js'

/** Unary calls: a store answers in milliseconds, so 10 s without one means nobody is there. */
const DEADLINE_MS = 10_000
/** How long `get` waits for the node to fetch a blob it lacks, by default. */
const FETCH_WAIT_MS = 60_000



/** A node id argument (`n` and 16 hex digits), checked before anything is dialled. */
function nodeArg(v: string): string {
  if (!isNodeId(v)) throw new InvalidArgumentError(`--node must be a node id (n and 16 hex digits, as crux registry ls shows), got ${JSON.stringify(v)}`)
  return v
}

/**
 * Runs `fn` with a client of the node at `--target` speaking as `--data-dir`'s node, and always closes
 * it. With `node` (another node's id), the client reaches that node's pastiche at the address the
 * target's catalog lists for it (Pastiche1), pinned to that node's key; it speaks as a flock member.
 */
async function withStore<T>(f: Reach, fn: (c: PasticheClient) => Promise<T>, node?: string): Promise<T> {
  const { loadPeerTls } = await import('../../runtime/grpc-tls.js')
  const tls = loadPeerTls(f.dataDir)
  const { createPasticheClient } = await import('../../actors/pastiche/client.js')
  const { nodeIdOf } = await import('../../runtime/node-identity.js')
  const own = node === undefined || node === nodeIdOf(tls.publicKey)
  const address = own ? f.target : await pasticheOf(f, tls, node)
  // The node to reach is the data dir's own (its server holds the same key), or the one named.
  const client = createPasticheClient({ address, tls, expect: own ? { publicKey: tls.publicKey } : { node }, timeoutMs: DEADLINE_MS })
  return using(client, fn, (err) => explainCall(own ? f : { ...f, target: address }, err, 'pastiche'))
}

/** The gRPC address of `node`'s pastiche, as the catalog of the node at --target lists it. */
async function pasticheOf(f: Reach, tls: import('../../runtime/grpc-tls.js').PeerTls, node: string): Promise<string> {
  const e = (await catalogNodes(f, tls)).find((x) => x.node === node && x.up)
  if (e === undefined) throw new NotFoundError(`no node ${node} in the catalog of ${f.target} (\`crux registry ls --api Pastiche1\` lists the nodes)`)
  return e.address
}



function positiveMs(v: string): number {
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`--wait ${v} is not a positive number of milliseconds`)
  return n
}

/**
 * When the node lacks `hash`: has it want the blob and waits until it holds it (its pastiche machine
 * fetches it from its peers), saying so on a terminal. Returns null when it was held already, else
 * whether the holding is to be withdrawn after the download (it was not wanted before) and the peers
 * whose ranges made the node's copy. A node with
 * no peers to fetch from is left as it is (its Get says NOT_FOUND); a blob not held within `waitMs` is
 * NOT_FOUND, and the holding given here is withdrawn.
 */
async function holdFirst(c: PasticheClient, hash: string, waitMs: number, tty: boolean): Promise<{ withdraw: boolean; from: string[] } | null> {
  if ((await c.has(hash)).held) return null
  const before = (await c.ls()).blobs.some((b) => b.hash === hash && b.wanted)
  const w = await c.want(hash)
  if (w.peers === 0 && !w.held) {
    if (!before) await c.unwant(hash)
    return null
  }
  const show = tty && process.stderr.isTTY === true
  const t0 = Date.now()
  for (;;) {
    if ((await c.has(hash)).held) break
    if (Date.now() - t0 >= waitMs) {
      if (!before) await c.unwant(hash).catch(() => undefined)
      throw new CruxError(Code.NOT_FOUND, `the node does not hold ${hash}, and did not get it from its peers in ${waitMs} ms (does a member of its flock hold it?)`)
    }
    if (show) process.stderr.write(`\rwaiting for the node to fetch ${hash.slice(0, 19)}… from its peers (${Math.round((Date.now() - t0) / 1000)} s)`)
    await new Promise((r) => setTimeout(r, 200))
  }
  if (show) process.stderr.write('\n')
  // Read before the holding is withdrawn: the machine forgets whom its ranges came from with it.
  const from = (await c.ls()).blobs.find((b) => b.hash === hash)?.from ?? []
  return { withdraw: !before, from }
}

/** Registers `crux pastiche`. */
export function registerPastiche(program: Command): void {
  const pastiche = program
    .command('pastiche')
    .description("a node's content-addressed blob store: put files and directories, get them back verified, pull them from peers")
    .addHelpText(
      'after',
      '\nBlobs are named by the SHA-256 of their bytes, sha256:<64 hex>. A directory is stored as a deterministic tar\n(same tree, same hash) and unpacked again by get. Every upload is verified by the node; every download by this command.\n\nExample:\n  crux pastiche put ./site --target 127.77.0.1:50059 --data-dir /tmp/n1 --pin\n  crux pastiche get sha256:… --out ./site-copy --target 127.77.0.1:50059 --data-dir /tmp/n1',
    )

  reach(
    pastiche.command('put').description("store a file, or a directory as a deterministic tar, in the node's store; prints its hash").argument('<PATH>', 'a file or a directory (symlinks, sockets and devices inside are refused)').option('--pin', 'keep it from eviction'),
    'print {"hash","bytes","kind":"file"|"dir","existed","pinned"}',
    '\nExample:\n  crux pastiche put ./build --pin --target 127.77.0.1:50059 --data-dir /tmp/n1 --json',
  ).action((path: string, f: Reach & { pin?: boolean }) =>
    withStore(f, async (c) => {
      const { stat } = await import('node:fs/promises')
      const st = await stat(path).catch((err: NodeJS.ErrnoException) => Promise.reject(new InvalidArgumentError(`cannot read ${path}: ${err.code ?? err.message}`)))
      if (!st.isFile() && !st.isDirectory()) throw new InvalidArgumentError(`${path} is neither a file nor a directory`)
      const kind = st.isDirectory() ? 'dir' : 'file'
      const { createReadStream } = await import('node:fs')
      const { packTar } = await import('../../actors/pastiche/tar.js')
      const source = kind === 'dir' ? await packTar(path) : createReadStream(path, { highWaterMark: 1 << 20 })
      const { progress } = await import('../../actors/pastiche/progress.js')
      const bar = progress(`put ${path}`, f.json !== true)
      let sent = 0
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          sent += chunk.length
          bar.update(sent, kind === 'file' ? st.size : 0)
          yield chunk
        }
      }
      try {
        const r = await c.put(counted(), { ...(kind === 'file' ? { bytes: st.size } : {}), pin: f.pin === true })
        bar.end()
        say(f, { hash: r.hash, bytes: r.bytes, kind, existed: r.existed, pinned: f.pin === true }, `${r.hash}  ${r.bytes} bytes (${kind}${r.existed ? ', already held' : ''}${f.pin === true ? ', pinned' : ''})\n`)
      } finally {
        bar.end()
        ;(source as { destroy?(): void }).destroy?.()
      }
    }),
  )

  reach(
    pastiche
      .command('get')
      .description('download a blob from the node, verifying its hash as it arrives (resumed after a break); a directory is unpacked into --out')
      .argument('<HASH>', 'the blob, sha256:<64 hex>')
      .requiredOption('--out <PATH>', 'where to write it; must not exist (a directory is created whole, or not at all)')
      .option('--raw', 'write the bytes as they are, even when they are a directory')
      .option('--wait <MS>', 'when the node lacks the blob, how long to wait for it to fetch it from its peers', positiveMs, FETCH_WAIT_MS),
    'print {"hash","bytes","kind","out","resumes","peers":[node ids],"fetched"} (fetched: the node lacked it and fetched it from its peers first; peers: whose ranges made its copy)',
    '\nExample:\n  crux pastiche get sha256:… --out ./copy --target 127.77.0.1:50059 --data-dir /tmp/n1',
  ).action(async (hashText: string, f: Reach & { out: string; raw?: boolean; wait: number }) => {
    const hash = await hashArg(hashText)
    const { lstat, open, rename, unlink } = await import('node:fs/promises')
    if (await lstat(f.out).then(() => true, () => false)) throw new InvalidArgumentError(`--out ${f.out} exists already; give a path that does not`)
    await withStore(f, async (c) => {
      const { getToFile } = await import('../../actors/pastiche/get-file.js')
      const { progress } = await import('../../actors/pastiche/progress.js')
      const bar = progress(`get ${hash.slice(0, 19)}…`, f.json !== true)
      const blob = `${f.out}.blob-${process.pid}`
      const fetched = await holdFirst(c, hash, f.wait, f.json !== true)
      try {
        const r = await getToFile(c, hash, blob, { onProgress: (done, total) => bar.update(done, total) })
        bar.end()
        const fh = await open(blob, 'r')
        const head = Buffer.alloc(1024)
        const { bytesRead } = await fh.read(head, 0, 1024, 0)
        await fh.close()
        const { kindOf } = await import('../../actors/pastiche/kind.js')
        const kind = f.raw === true ? 'file' : kindOf(head.subarray(0, bytesRead), r.bytes)
        if (kind === 'dir') {
          const { createReadStream } = await import('node:fs')
          const { unpackTar } = await import('../../actors/pastiche/untar.js')
          await unpackTar(createReadStream(blob, { highWaterMark: 1 << 20 }), f.out)
        } else await rename(blob, f.out)
        say(f, { hash, bytes: r.bytes, kind, out: f.out, resumes: r.resumes, peers: fetched?.from ?? [], fetched: fetched !== null }, `${f.out}  ${r.bytes} bytes (${kind}${fetched !== null ? ', fetched by the node from its peers' : ''})\n`)
      } finally {
        bar.end()
        await unlink(blob).catch(() => undefined)
        if (fetched?.withdraw === true) await c.unwant(hash).catch(() => undefined)
      }
    })
  })

  reach(pastiche.command('has').description('whether the node holds a blob, and how many bytes of an unfinished transfer of it it keeps').argument('<HASH>', 'the blob'), 'print {"hash","held","bytes","partial"}', '\nExample:\n  crux pastiche has sha256:… --json').action(async (hashText: string, f: Reach) => {
    const hash = await hashArg(hashText)
    await withStore(f, async (c) => {
      const r = await c.has(hash)
      say(f, { hash, held: r.held, bytes: r.bytes, partial: r.partial }, r.held ? `held, ${r.bytes} bytes\n` : `not held${r.partial > 0 ? ` (${r.partial} bytes of an unfinished transfer kept)` : ''}\n`)
    })
  })

  reach(pastiche.command('ls').description("what the node's store holds: HASH, BYTES, PINNED, and its use against its bound"), 'print {"blobs":[{"hash","bytes","pinned","wanted","held","from"}],"bytes","limit"} (from: the peers whose ranges made a fetched holding)', '\nExample:\n  crux pastiche ls --target 127.77.0.1:50059 --data-dir /tmp/n1 --json').action((f: Reach) =>
    withStore(f, async (c) => {
      const r = await c.ls()
      const { formatBytes } = await import('../../actors/pastiche/progress.js')
      const rows = r.blobs.map((b) => `${b.hash}  ${String(b.bytes).padStart(12)}  ${[b.pinned ? 'pinned' : '', b.wanted ? 'wanted' : '', b.held ? '' : 'not held yet'].filter((w) => w !== '').join(', ')}\n`).join('')
      say(f, { blobs: r.blobs.map((b) => ({ hash: b.hash, bytes: b.bytes, pinned: b.pinned, wanted: b.wanted, held: b.held, from: b.from })), bytes: r.bytes, limit: r.limit }, `${rows}${r.blobs.length} blobs, ${formatBytes(r.bytes)} of ${formatBytes(r.limit)}\n`)
    }),
  )

  for (const [name, doing] of [
    ['pin', 'keep a blob the node holds from eviction (until unpinned; survives restarts)'],
    ['unpin', 'let a pinned blob be evicted again'],
  ] as const) {
    reach(pastiche.command(name).description(doing).argument('<HASH>', 'the blob'), 'print {"hash","changed"}', `\nExample:\n  crux pastiche ${name} sha256:… --target 127.77.0.1:50059 --data-dir /tmp/n1`).action(async (hashText: string, f: Reach) => {
      const hash = await hashArg(hashText)
      await withStore(f, async (c) => {
        const changed = await c[name](hash)
        say(f, { hash, changed }, `${hash} ${name === 'pin' ? (changed ? 'pinned' : 'was pinned already') : changed ? 'unpinned' : 'was not pinned'}\n`)
      })
    })
  }

  reach(pastiche.command('gc').description('evict every blob that is neither pinned nor in use (unfinished transfers are kept for a resume)'), 'print {"removed","bytes"}', '\nExample:\n  crux pastiche gc --target 127.77.0.1:50059 --data-dir /tmp/n1').action((f: Reach) =>
    withStore(f, async (c) => {
      const r = await c.gc()
      say(f, { removed: r.removed, bytes: r.bytes }, `removed ${r.removed} blobs, ${r.bytes} bytes\n`)
    }),
  )

  reach(
    pastiche
      .command('want')
      .description("keep a blob on the node: its pastiche machine fetches it from the flock's members that hold it (ranges from several at once, verified), pins it, and keeps it until unwant (survives restarts)")
      .argument('<HASH>', 'the blob')
      .option('--node <NODE_ID>', "the node to keep it on (default: the node at --target), reached at the address the target's catalog lists for its pastiche", nodeArg)
      .option('--bytes <N>', 'its size, when known (else learnt from the peers)', (v: string) => {
        const n = Number(v)
        if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`--bytes ${v} is not a byte count`)
        return n
      }),
    'print {"hash","changed","held"}',
    '\nExample:\n  crux pastiche want sha256:… --target 127.77.0.1:50059 --data-dir /tmp/n1 --json',
  ).action(async (hashText: string, f: Reach & { bytes?: number; node?: string }) => {
    const hash = await hashArg(hashText)
    await withStore(
      f,
      async (c) => {
        const r = await c.want(hash, f.bytes)
        say(f, { hash, changed: r.changed, held: r.held }, `${hash} ${r.changed ? 'wanted' : 'was wanted already'}${r.held ? ' (held)' : ' (to fetch from the peers)'}\n`)
      },
      f.node,
    )
  })

  reach(
    pastiche
      .command('unwant')
      .description('withdraw a holding: what is in flight for it stops, and the blob is unpinned (not removed)')
      .argument('<HASH>', 'the blob')
      .option('--node <NODE_ID>', 'the node whose holding it is (default: the node at --target)', nodeArg),
    'print {"hash","changed"}',
    '\nExample:\n  crux pastiche unwant sha256:… --target 127.77.0.1:50059 --data-dir /tmp/n1',
  ).action(async (hashText: string, f: Reach & { node?: string }) => {
    const hash = await hashArg(hashText)
    await withStore(
      f,
      async (c) => {
        const changed = await c.unwant(hash)
        say(f, { hash, changed }, `${hash} ${changed ? 'no longer wanted' : 'was not wanted'}\n`)
      },
      f.node,
    )
  })

  reach(
    pastiche
      .command('fetch')
      .description('have the node at --target pull a blob from the peer at --from (a flock member serving gRPC), verified as it lands, resumed from what it kept of an earlier pull')
      .argument('<HASH>', 'the blob')
      .requiredOption('--from <HOST:PORT>', "the peer's gRPC address", target('--from')),
    'print {"hash","bytes","from","ms","moved","existed"}',
    '\nExample:\n  crux pastiche fetch sha256:… --from 127.77.0.2:50059 --target 127.77.0.1:50059 --data-dir /tmp/n1 --json',
  ).action(async (hashText: string, f: Reach & { from: string }) => {
    const hash = await hashArg(hashText)
    await withStore(f, async (c) => {
      const r = await c.fetch(hash, f.from)
      say(f, { hash, bytes: r.bytes, from: f.from, ms: r.ms, moved: r.moved, existed: r.existed }, r.existed ? `${hash} held already\n` : `${hash}  ${r.bytes} bytes from ${f.from} in ${r.ms} ms${r.moved < r.bytes ? ` (${r.moved} moved, resumed)` : ''}\n`)
    })
  })
}
