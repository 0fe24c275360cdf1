/** `crux fulcrum`: one node on real UDP (CLI.md). SIGTERM/SIGINT leave gracefully, checkpoint, exit 0. */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../runtime/errors.js'
import type { Level } from '../../runtime/walrus-levels.js'
import { DEFAULT_PASTICHE_LIMIT, parseByteSize } from '../../actors/pastiche/limit.js'
import { configurable } from '../configurable.js'
import { MAX_LABELS, NODE_LABEL } from '../../machines/picket/muster.js'
import { durationOption, hostPort, int, name, oneOf, target } from '../flags.js'
import { levelValues } from '../../runtime/walrus-levels.js'

const collect = (v: string, all: string[]): string[] => [...all, v]

/** `--label`: a node label, checked, collected (at most MAX_LABELS, no repeats). */
function label(v: string, all: string[]): string[] {
  if (!NODE_LABEL.test(v)) throw new InvalidArgumentError(`--label: bad label ${JSON.stringify(v.slice(0, 80))}: letters, digits, _ . = : -, at most 63, not starting with . = : or -`)
  if (all.includes(v)) return all
  if (all.length >= MAX_LABELS) throw new InvalidArgumentError(`--label: at most ${MAX_LABELS} labels`)
  return [...all, v]
}

export function registerFulcrum(program: Command): void {
  const fulcrum = program
    .command('fulcrum')
    .description('run one node: find the flock over encrypted UDP, join it, keep its member list')
    .option('--data-dir <DIR>', 'node id, checkpoint and stores', './crux-data')
    .option('--listen <HOST:PORT>', 'UDP address to bind', hostPort('--listen', true), { host: '0.0.0.0', port: 23123 })
    .option('--advertise <HOST:PORT>', 'the flock address (IP:PORT) announced to peers, when they reach this node at another address than --listen (NAT, a container, a wildcard listen); datagrams sent there must reach this node and its answers seem to come from there, as through a port forward. Default: the listen address, or for 0.0.0.0 or :: the host\'s one non-loopback IPv4 address', hostPort('--advertise'))
    .option('--probe <SPEC>', 'where to look for peers: CIDR (port = listen port), HOST:PORT, HOST:PORT-PORT or @file; repeatable', collect, [])
    .requiredOption('--secret-file <F>', 'the flock secret (crux keygen secret --out F)')
    .option('--bloc <NAME>', "require this bloc: the data dir's node.cert (crux keygen cert) must name it; peers without a certificate from the same CA and bloc are ignored. A node.cert in the data dir enables bloc mode even without this flag")
    .addOption(durationOption('--heartbeat <MS>', 'heartbeat period: milliseconds, or a duration such as 250ms, 1s', { bare: 'ms', min: 50, max: 60_000 }, 1000))
    .option('--beacon <HOST:PORT>', 'send MonInfo records here (crux beacon), until the leader names another beacon', target('--beacon'))
    .option('--ring <N>', 'MonInfo records kept for crux dump', int('--ring', 1, 10_000_000), 10_000)
    .option('--key-period <HB>', 'heartbeats between key epochs: the leader announces a new epoch and every session re-keys (at the default heartbeat: 100 s)', int('--key-period', 2, 1_000_000), 100)
    .option('--metrics <HOST:PORT>', 'serve HTTP here: Prometheus /metrics, /healthz (the process serves) and /readyz (in a flock with a leader, reeve registered) for probes (docs/MONITORING.md)', hostPort('--metrics'))
    .option('--grpc <HOST:PORT>', "serve the strew layer here over gRPC: this node's reeve, and the steward and registry while it leads, with health and reflection (default: the listen host, port 50059; port 0: any free port)", hostPort('--grpc', true))
    .option('--grpc-advertise <HOST:PORT>', 'the gRPC address (IP:PORT) announced to peers (steward and registry); its host must be the announced flock host (stewards call nodes back there). Default: the announced flock host and the bound gRPC port when --grpc is on the listen host or a wildcard, else the --grpc address', hostPort('--grpc-advertise'))
    .option('--no-grpc', 'no gRPC services: membership only')
    .option('--grpc-max-connections <N>', 'gRPC connections open at once; more are closed on arrival (docs/LIMITS.md)', int('--grpc-max-connections', 1, 1_000_000), 4_096)
    .option('--grpc-max-connections-per-address <N>', 'gRPC connections open at once from one source address', int('--grpc-max-connections-per-address', 1, 1_000_000), 256)
    .option('--key-budget <SOURCE,ALL>', 'key derivations a second for sender key ids never heard, per source host and overall (bursts twice that); past it such datagrams are dropped before any crypto (docs/LIMITS.md)', keyBudget, { perSource: 16, overall: 128 })
    .option('--label <NAME>', `a label of this node, published in its muster: khan's label(NAME) selects the nodes carrying it (letters, digits, _ . = : -; at most ${MAX_LABELS}); repeatable`, label, [])
    .option('--horde <NAME>', "this node's horde: its services' NodeIDs name it, and it sees that horde's catalog", name('--horde'), 'default')
    .option('--rules <FILE>', 'who may see whom, for the steward while this node leads (give every node the same file): a JSON list of {"horde": NAME or "*", "from": SERVICE, "to": SERVICE}; default: Pastiche→Pastiche, Steward→Reeve, Reeve→Steward')
    .option('--pastiche-limit <BYTES>', 'bytes the blob store (DATA_DIR/pastiche, served with gRPC) may take, blobs and unfinished transfers together: a count or a size such as 512M, 10G, 1.5T (binary units); past it the least recently used blobs not pinned or in use are evicted', (v: string) => parseByteSize(v), DEFAULT_PASTICHE_LIMIT)
    .option('--trace <FILE>', 'write this node\'s journal (NDJSON) for crux replay')
    .option('--log-level <L>', 'trace, debug, info, warn, error, fatal or silent', oneOf('--log-level', Object.keys(levelValues) as Level[]), 'info')
    .addHelpText('after', '\nExample:\n  crux fulcrum --listen 127.77.0.1:23123 --probe 127.77.0.0/29 --secret-file flock.secret --data-dir /tmp/n1')
    .action(async (f: { dataDir: string; listen: { host: string; port: number }; advertise?: { host: string; port: number }; grpcAdvertise?: { host: string; port: number }; probe: string[]; secretFile: string; bloc?: string; heartbeat: number; keyPeriod: number; beacon?: string; ring: number; metrics?: { host: string; port: number }; grpc?: { host: string; port: number } | false; grpcMaxConnections: number; grpcMaxConnectionsPerAddress: number; keyBudget: { perSource: number; overall: number }; horde: string; label: string[]; rules?: string; pasticheLimit: number; trace?: string; logLevel: string }) => {
      const { readSecretFile } = await import('../../runtime/secret.js')
      const { parseProbeSpecs } = await import('../../actors/flock/probe-spec.js')
      const { startFulcrum } = await import('../../actors/fulcrum/fulcrum.js')
      // The last word on a failure nothing else handled: one `crux:` line and exit 1, never a stack
      // trace (issue 13). Failed writes are handled where they happen; this is for what was missed.
      const last = (err: unknown) => {
        process.stderr.write(`crux: fulcrum stopped: ${err instanceof Error ? err.message : String(err)}\n`)
        process.exit(1)
      }
      process.on('uncaughtException', last)
      process.on('unhandledRejection', last)
      // The old generation may grow 30 % past what a full GC leaves, not V8's up to four times on a
      // machine with memory to spare: with a 1 MB young generation, the fulcrum of bench/strew.ts
      // peaked at 290–300 MB for ~45 MB live with V8's default, 148 MB with 100 % (Go's GOGC=100,
      // etcd's), 127 MB with 30 % (docs/STREW.md). Only on node's command line, not NODE_OPTIONS
      // (node refuses it there), does another --heap-growing-percent win.
      if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) {
        ;(await import('node:v8')).setFlagsFromString('--heap-growing-percent=30')
      }
      const rules = f.rules === undefined ? undefined : (await import('../../actors/strew/rules-file.js')).readRulesFile(f.rules)
      const secret = readSecretFile(f.secretFile)
      const probe = parseProbeSpecs(f.probe, f.listen.port)
      // A stop asked for while the node starts (it may already be sending) is kept, and made once it
      // has started: a signal's default would end it without its checkpoint or leave (exit 143).
      let stopAsked = false
      let stop = (): void => void (stopAsked = true)
      process.once('SIGTERM', () => stop())
      process.once('SIGINT', () => stop())
      const node = await startFulcrum({
        host: f.listen.host,
        port: f.listen.port,
        dataDir: f.dataDir,
        ...(f.advertise === undefined ? {} : { advertise: f.advertise }),
        ...(f.grpcAdvertise === undefined || f.grpc === false ? {} : { grpcAdvertise: f.grpcAdvertise }),
        probe,
        secret,
        ...(f.bloc === undefined ? {} : { bloc: f.bloc }),
        hbMs: f.heartbeat,
        ...(f.beacon === undefined ? {} : { beacon: f.beacon }),
        ringSize: f.ring,
        config: { keyPeriodHb: f.keyPeriod },
        logLevel: f.logLevel as Level,
        trace: f.trace,
        metrics: f.metrics,
        ...(f.grpc === false ? {} : { grpc: f.grpc ?? { host: f.listen.host, port: 50_059 } }),
        keyBudget: f.keyBudget,
        grpcLimits: { maxConnections: f.grpcMaxConnections, maxConnectionsPerAddress: f.grpcMaxConnectionsPerAddress },
        horde: f.horde,
        ...(f.label.length === 0 ? {} : { labels: f.label }),
        ...(rules === undefined ? {} : { rules }),
        pasticheLimit: f.pasticheLimit,
      })
      await new Promise<void>((resolve) => {
        stop = () => {
          // Never a hang on the way out: a stop that does not finish is reported, and the process ends.
          setTimeout(() => {
            process.stderr.write(`crux: fulcrum: the graceful stop did not finish within ${STOP_BOUND_MS / 1000} s; exiting\n`)
            process.exit(1)
          }, STOP_BOUND_MS).unref()
          void node.stop().then(resolve, resolve)
        }
        if (stopAsked) stop()
      })
      // Stopped: no handle left open may keep the process (two of five fulcrums stayed alive after a
      // SIGTERM once, on a loaded machine; which handle held them was not found).
      setTimeout(() => process.exit(process.exitCode ?? 0), 1_000).unref()
    })
  configurable(fulcrum)
}

/** How long a graceful stop (leave, checkpoint, close) may take before the process just ends. */
const STOP_BOUND_MS = 10_000

/** `--key-budget 16,128`: two whole numbers, per source host and overall. */
function keyBudget(v: string): { perSource: number; overall: number } {
  const m = /^\s*(\d{1,7})\s*,\s*(\d{1,7})\s*$/.exec(v)
  const perSource = Number(m?.[1])
  const overall = Number(m?.[2])
  if (m === null || perSource < 1 || overall < perSource) throw new InvalidArgumentError(`--key-budget must be SOURCE,ALL: two whole numbers, 1 ≤ SOURCE ≤ ALL, got ${JSON.stringify(v)}`)
  return { perSource, overall }
}
