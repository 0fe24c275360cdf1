/** `crux viz [TRACE]`: the visualiser, served by this process until Ctrl-C (CLI.md, Monitoring). */
import type { Command } from 'commander'
import { existsSync } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { durationOption, hostPort, target } from '../flags.js'

export function registerViz(program: Command): void {
  program
    .command('viz')
    .description("serve the visualiser: every node's machine state side by side over a journal's time (crux sim --trace, crux fulcrum --trace), what-if re-runs of a simulation, or a beacon live")
    .argument('[TRACE]', 'journal file (NDJSON) to show')
    .option('--listen <HOST:PORT>', 'HTTP address to serve on', hostPort('--listen', true), { host: '127.0.0.1', port: 8080 })
    .option('--beacon <HOST:PORT>', 'live mode: follow this beacon (with --secret-file)', target('--beacon'))
    .option('--ask <HOST:PORT>', 'live mode: a fulcrum to ask over Confab where each node stands (repeatable; one per flock is enough: its leader lists the rest)', (v: string, all: string[]) => [...all, target('--ask')(v)], [] as string[])
    .option('--secret-file <F>', 'the flock secret (live mode)')
    .addOption(durationOption('--stable <S>', 'live mode: how long a flock must keep its leader and size: seconds, or a duration such as 500ms, 2m', { bare: 's', min: 100, max: 86_400_000 }, 15_000))
    .option('--json', 'print {"url","nodes","steps","load_ms"} instead of the URL')
    .addHelpText('after', '\nExamples:\n  crux sim --nodes 40 --partition 10:2:30 --trace run.ndjson && crux viz run.ndjson\n  crux viz --beacon 127.0.0.1:28351 --secret-file flock.secret')
    .action(async (trace: string | undefined, f: { listen: { host: string; port: number }; beacon?: string; ask: string[]; secretFile?: string; stable: number; json?: boolean }) => {
      if (trace === undefined && f.beacon === undefined) throw new InvalidArgumentError('give a TRACE to show, or --beacon HOST:PORT to follow')
      if (f.beacon !== undefined && f.secretFile === undefined) throw new InvalidArgumentError('--beacon needs --secret-file')
      if (f.ask.length > 0 && f.beacon === undefined) throw new InvalidArgumentError('--ask needs --beacon')
      if (trace !== undefined && !existsSync(trace)) throw new InvalidArgumentError(`no such journal: ${trace}`)
      const { startVizServer } = await import('../../actors/viz/server.js')
      const t0 = performance.now()
      let timeline
      if (trace !== undefined) {
        const { buildTimeline } = await import('../../actors/viz/model.js')
        const { readLines } = await import('../../runtime/replayer.js')
        timeline = buildTimeline(readLines(trace))
      }
      const loadMs = Math.round(performance.now() - t0)
      let beacon
      if (f.beacon !== undefined) {
        const { readSecretFile } = await import('../../runtime/secret.js')
        beacon = { address: f.beacon, secret: readSecretFile(f.secretFile!), stableMs: f.stable, ask: f.ask }
      }
      const server = await startVizServer({ host: f.listen.host, port: f.listen.port, ...(timeline === undefined ? {} : { timeline }), ...(beacon === undefined ? {} : { beacon }) })
      process.stdout.write(f.json === true ? JSON.stringify({ url: server.url, nodes: timeline?.nodes.length ?? 0, steps: timeline?.steps ?? 0, load_ms: loadMs }) + '\n' : `${server.url}\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve())
        process.once('SIGTERM', () => resolve())
      })
      await server.close()
    })
}
