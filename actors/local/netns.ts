/**
 * Network namespaces on this machine for fulcrums that must not share loopback (the loss test and
 * bench/flock-loss.ts): one namespace holding a bridge, and one per node, each with eth0 on
 * `10.78.0.<i+1>/24` wired to a port of that bridge. Losing datagrams is an nftables rule in the
 * bridge's namespace (`bridge` family, `forward` hook): `numgen random mod 100 < P drop` for UDP,
 * since this kernel has no tc netem. Nothing appears in the host's namespace; deleting the
 * namespaces deletes the veths, the bridge and the rule. Needs root, `ip` (iproute2) and `nft`.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export interface BridgedNamespaces {
  /** The namespace of node i (0-based). */
  node(i: number): string
  /** Node i's address. */
  ip(i: number): string
  /** The bridge drops `pct` % of the UDP datagrams it forwards, at random; 0 removes the rule. */
  setLoss(pct: number): void
  /** Deletes every namespace made here (idempotent). */
  destroy(): void
}

const SUBNET = '10.78.0'

/**
 * The system's `name` by absolute path: under npm and npx, PATH starts with node_modules/.bin, where
 * `nft` is @vercel/nft (node-file-trace), not nftables' nft.
 */
function sysBin(name: string): string | undefined {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'].map((d) => `${d}/${name}`).find((p) => existsSync(p))
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(sysBin(cmd) ?? cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10_000 })
}

/** Runs nftables' nft in namespace `ns`, the script `input` on stdin when given. */
const nft = (ns: string, args: string[], input?: string) => run('ip', ['netns', 'exec', ns, sysBin('nft')!, ...args], input)

/** A bridge-family table whose forward chain drops `pct` % of UDP at random. */
const lossTable = (name: string, pct: number) =>
  `table bridge ${name} {\n  chain lose {\n    type filter hook forward priority 0; policy accept;\n    meta l4proto udp numgen random mod 100 < ${Math.round(pct)} drop\n  }\n}\n`

/** Why namespaces with an nftables bridge rule cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  for (const c of ['ip', 'bridge', 'nft']) if (sysBin(c) === undefined) return `${c} is not installed (apt-get install -y iproute2 nftables)`
  const probe = `crxprobe${process.pid}`
  try {
    run('ip', ['netns', 'add', probe])
    nft(probe, ['-f', '-'], lossTable('crxprobe', 1))
    if (!nft(probe, ['list', 'table', 'bridge', 'crxprobe']).includes('numgen random mod 100 < 1')) return 'nft took the loss rule but does not list it'
    return undefined
  } catch (err) {
    return `cannot make a namespace with a bridge-family nftables rule: ${String((err as { stderr?: string }).stderr ?? err).trim()}`
  } finally {
    spawnSync(sysBin('ip') ?? 'ip', ['netns', 'del', probe])
  }
}

/** Makes the bridge and `n` nodes (n ≤ 250); resolves once every bridge port forwards. */
export async function bridgedNamespaces(n: number, prefix = `crx${process.pid}`): Promise<BridgedNamespaces> {
  const br = `${prefix}br`
  const made: string[] = []
  const node = (i: number) => `${prefix}n${i + 1}`
  const destroy = () => {
    for (const ns of made.splice(0)) spawnSync(sysBin('ip') ?? 'ip', ['netns', 'del', ns])
  }
  try {
    run('ip', ['netns', 'add', br])
    made.push(br)
    run('ip', ['-n', br, 'link', 'set', 'lo', 'up'])
    run('ip', ['-n', br, 'link', 'add', 'br0', 'type', 'bridge'])
    run('ip', ['-n', br, 'link', 'set', 'br0', 'up'])
    for (let i = 0; i < n; i++) {
      const ns = node(i)
      run('ip', ['netns', 'add', ns])
      made.push(ns)
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
      // Both ends are made inside our namespaces: nothing appears in the host's.
      run('ip', ['-n', br, 'link', 'add', `v${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
      run('ip', ['-n', br, 'link', 'set', `v${i + 1}`, 'master', 'br0', 'up'])
      run('ip', ['-n', ns, 'addr', 'add', `${SUBNET}.${i + 1}/24`, 'dev', 'eth0'])
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
    }
    // No STP: ports forward almost at once; the wait is bounded all the same.
    for (let k = 0; k < 100; k++) {
      if ((run('bridge', ['-n', br, 'link', 'show']).match(/state forwarding/g) ?? []).length === n) break
      await new Promise((r) => setTimeout(r, 50))
    }
  } catch (err) {
    destroy()
    throw err
  }
  let lossy = false
  return {
    node,
    ip: (i) => `${SUBNET}.${i + 1}`,
    setLoss(pct) {
      if (lossy) nft(br, ['delete', 'table', 'bridge', 'crxloss'])
      lossy = false
      if (pct <= 0) return
      nft(br, ['-f', '-'], lossTable('crxloss', pct))
      lossy = true
      if (!nft(br, ['list', 'table', 'bridge', 'crxloss']).includes(`mod 100 < ${Math.round(pct)} drop`)) throw new Error('the loss rule is not in place')
    },
    destroy,
  }
}
