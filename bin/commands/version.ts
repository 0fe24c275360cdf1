/** `crux version [--json]`: the crux version, Node's, and every product machine's name@version. */
import type { Command } from 'commander'
import { packageInfo } from '../package-info.js'

export async function versionInfo(): Promise<{ name: string; version: string; node: string; xstate: string; machines: Record<string, string> }> {
  const { productMachines } = await import('../../machines/index.js')
  const pkg = packageInfo()
  return {
    name: pkg.name,
    version: pkg.version,
    node: process.versions.node,
    xstate: pkg.xstate,
    machines: Object.fromEntries(productMachines.map((m) => [m.name, m.version])),
  }
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the crux version, the Node.js version and the versions of the state machines')
    .option('--json', 'print one JSON document: {"name","version","node","xstate","machines":{name:version}}')
    .addHelpText('after', '\nExample:\n  crux version --json')
    .action(async (opts: { json?: boolean }) => {
      const v = await versionInfo()
      if (opts.json === true) {
        process.stdout.write(JSON.stringify(v) + '\n')
        return
      }
      const machines = Object.entries(v.machines)
      process.stdout.write(
        `${v.name} ${v.version} (node ${v.node}, xstate ${v.xstate})\n` +
          (machines.length === 0 ? 'machines: none yet\n' : machines.map(([n, ver]) => `machine ${n}@${ver}\n`).join('')),
      )
    })
}
