/**
 * The environment the deploy files give a fulcrum, read from deploy/systemd/crux-fulcrum.service
 * (deploy/Dockerfile sets the same; test/deploy/ checks they agree): `NODE_OPTIONS` and the C
 * library's `MALLOC_*` settings. A benchmark that starts a fulcrum "as an operator does" starts it
 * with these, so what it measures is what the deploy files run.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const UNIT = fileURLToPath(new URL('../../../deploy/systemd/crux-fulcrum.service', import.meta.url))

/** `Environment=NAME=VALUE` (or `Environment="NAME=VALUE"`) lines of a systemd unit whose NAME is NODE_OPTIONS or starts MALLOC_. */
export function unitEnvironment(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^Environment=(.*)$/.exec(line.trim())
    const kv = m === null ? undefined : /^(NODE_OPTIONS|MALLOC_[A-Z_]+)=(.*)$/.exec(m[1]!.replace(/^"(.*)"$/, '$1'))
    if (kv !== undefined && kv !== null) env[kv[1]!] = kv[2]!
  }
  return env
}

/** The deploy files' Node options (as argv flags) and the rest of their environment. */
export function deployEnvironment(): { nodeFlags: string[]; env: Record<string, string> } {
  const { NODE_OPTIONS = '', ...env } = unitEnvironment(readFileSync(UNIT, 'utf8'))
  return { nodeFlags: NODE_OPTIONS.split(' ').filter((f) => f !== ''), env }
}
