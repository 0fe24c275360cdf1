/**
 * What every command that calls one node's gRPC shares (`crux service`, `crux registry`, `crux
 * pastiche`; CLI.md): which node (`--target`), whose key (`--data-dir`: the calls are made with its
 * node key and the certificates its fulcrum wrote there), and `--json`.
 */
import type { Command } from 'commander'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import { Code, CruxError, isRemoteError } from '../../runtime/errors.js'
import { target } from '../flags.js'
import { nodeOfNodeId } from '../../machines/strew/ids.js'

export const DEFAULT_TARGET = '127.0.0.1:50059'
export const DEFAULT_DATA_DIR = './crux-data'

/** The shared flags as commander parses them. */
export interface Reach {
  target: string
  dataDir: string
  json?: boolean
}

/** One JSON line with `--json`, else the text. */
export const say = (f: Reach, json: unknown, text: string): void => void process.stdout.write(f.json === true ? JSON.stringify(json) + '\n' : text)

/** Adds the shared flags after the command's own, `json` saying what `--json` prints, then its example; `whose` ends the --data-dir help. */
export function reach(cmd: Command, json: string, example: string, whose = ''): Command {
  return cmd
    .option('--target <HOST:PORT>', "the node's gRPC address (a fulcrum serves it on its listen host, port 50059, unless --grpc says otherwise)", target('--target'), DEFAULT_TARGET)
    .option('--data-dir <DIR>', `that node's data dir: calls are made with its node.key and the certificates its fulcrum wrote there (grpc.crt, grpc-ca.crt)${whose}`, DEFAULT_DATA_DIR)
    .option('--json', json)
    .addHelpText('after', example)
}

/** Runs `fn` with `client`, a failure turned into one line by `explain`, and always closes the client. */
export async function using<C extends { close(): void }, T>(client: C, fn: (c: C) => Promise<T>, explain: (err: unknown) => unknown): Promise<T> {
  try {
    return await fn(client)
  } catch (err) {
    throw explain(err)
  } finally {
    client.close()
  }
}

/**
 * A failed call as one line that names the target and says what to do about it (`service`: the prefix
 * the client puts on its errors, `pastiche` or `picket`).
 */
export function explainCall(f: Reach, err: unknown, service: string): unknown {
  if (!isRemoteError(err, f.target)) return err
  const why = err.message.replace(/\s+/g, ' ').replace(`${service} ${f.target}: `, '')
  const tls = err.details?.tls
  if (tls === 'pin') return new CruxError(Code.PERMISSION_DENIED, `the node at ${f.target} is not the one whose key ${f.dataDir} holds (use the data dir of the fulcrum serving ${f.target})`)
  if (tls !== undefined) return new CruxError(err.code, `${f.target}: ${why}`)
  switch (err.code) {
    case Code.UNAVAILABLE:
      return new CruxError(err.code, `no fulcrum answers at ${f.target}${/ECONNREFUSED/.test(why) ? ': connection refused' : ''} (is a fulcrum serving gRPC there? see crux fulcrum --grpc)`)
    case Code.DEADLINE_EXCEEDED:
      return new CruxError(err.code, `no answer from ${f.target} in time: ${why}`)
    case Code.PERMISSION_DENIED:
    case Code.UNAUTHENTICATED:
      return new CruxError(err.code, `the node at ${f.target} refused the call (${f.dataDir}'s key may call only its own node)`)
    default:
      // The server's own words (a CLI usage error is exit 2; the server's refusals are failures, exit 1).
      return new CruxError(err.code === Code.INVALID_ARGUMENT ? Code.FAILED_PRECONDITION : err.code, `${f.target}: ${why}`)
  }
}

/** A blob name argument (sha256:<64 hex>), checked before anything is dialled (a bad one is a usage error, exit 2). */
export async function hashArg(v: string): Promise<string> {
  const { parseHash } = await import('../../actors/pastiche/hash.js')
  return parseHash(v)
}

/**
 * The nodes the catalog of the node at --target lists, each at its gRPC address: that of its pastiche
 * entry (Pastiche1), which every fulcrum registers at its gRPC server.
 */
export async function catalogNodes(f: Reach, tls: PeerTls): Promise<Array<{ node: string; address: string; up: boolean }>> {
  const { createReeveClient } = await import('../../actors/strew/client.js')
  const { PASTICHE_API } = await import('../../machines/pastiche/announce.js')
  const reeve = createReeveClient({ address: f.target, tls, timeoutMs: 10_000 })
  const { endpoints } = await using(reeve, (c) => c.catalog({ api: PASTICHE_API }), (err) => explainCall(f, err, 'reeve'))
  return endpoints.map((e) => ({ node: nodeOfNodeId(e.nodeId), address: e.address, up: e.state === 'up' }))
}
