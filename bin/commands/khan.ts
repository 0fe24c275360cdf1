/**
 * `crux khan check FILE` and `crux khan solve FILE --nodes NODES.json` (CLI.md, Placement): the khan
 * placement language (docs/KHAN.md), checked and solved offline. Program errors print as
 * `FILE:LINE:COL: message`, one per line, the way compilers do, and exit 1; so does a program the
 * nodes cannot satisfy, with the explanation.
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../runtime/errors.js'

const out = (s: string) => process.stdout.write(s + '\n')
const err = (s: string) => process.stderr.write(s + '\n')

/** `--seed`: a whole number, or any other text (hashed). */
function seedArg(v: string): number | string {
  if (v === '') throw new InvalidArgumentError('--seed needs a value')
  return /^-?\d{1,15}$/.test(v) ? Number(v) : v
}

export function registerKhan(program: Command): void {
  const khan = program
    .command('khan')
    .description('the khan placement language: check a program, solve it over a list of nodes (docs/KHAN.md)')
    .addHelpText('after', '\nA program places services on nodes, one expression per line:\n  cserv := pick(cserver, 3, ALL)\n  pick(cagent, size(ALL) - size(cserv), !cserv)\n  start cagent after 2 of cserver\n\nExamples:\n  crux khan check stix.khan\n  crux khan solve stix.khan --nodes nodes.json --explain')

  khan
    .command('check')
    .description('parse and check a program: every error as FILE:LINE:COL: message (exit 1), warnings likewise on stderr')
    .argument('<FILE>', 'the program')
    .option('--json', 'print {"ok","file","expressions","services","names","afters","errors":[{"line","col","error","expected","got","message"}],"warnings":[{"line","col","message"}]}')
    .addHelpText('after', '\nExample:\n  crux khan check stix.khan --json')
    .action(async (file: string, f: { json?: boolean }) => {
      const { readText } = await import('./khan-input.js')
      const { compile } = await import('../../machines/khan/compile.js')
      const c = compile(readText(file))
      for (const e of c.errors) err(`${file}:${e.message}`)
      for (const w of c.warnings) err(`${file}:${w.line}:${w.col}: warning: ${w.message}`)
      const picks = c.checked?.picks ?? []
      if (f.json === true) {
        const names = Object.fromEntries([...(c.checked?.names ?? [])].map(([n, v]) => [n, v.type]))
        const afters = (c.program?.afters ?? []).map((a) => ({ start: a.service, after: a.conds.map((x) => ({ service: x.service, stage: x.stage, count: x.count, percent: x.percent })) }))
        out(JSON.stringify({ ok: c.errors.length === 0, file, expressions: c.program?.exprs.length ?? 0, services: picks.map((p) => ({ service: p.service, hard: p.hard, line: p.pos.line, col: p.pos.col })), names, afters, errors: c.errors.map((e) => e.toJSON()), warnings: c.warnings }))
      } else if (c.program !== null) out(`${file}: ok: ${c.program.exprs.length} expression(s), ${picks.length} service(s) placed${picks.length > 0 ? ` (${picks.map((p) => p.service).join(', ')})` : ''}, ${c.program.afters.length} start clause(s)`)
      if (c.errors.length > 0) process.exitCode = 1
    })

  khan
    .command('solve')
    .description('place a program\'s services on the given nodes: fewest moves from --current, spread otherwise, deterministic for --seed; exit 1 when it cannot be satisfied, with why')
    .argument('<FILE>', 'the program')
    .requiredOption('--nodes <NODES.json>', 'the nodes: [{"id":str,"labels":[str]}]')
    .option('--current <CURRENT.json>', 'where services run now: {"SERVICE":{"NODE_ID":count}}')
    .option('--seed <S>', 'chooses among equally good nodes (a whole number or any text)', seedArg, 0)
    .option('--explain', 'say what each pick did (a failure is always explained)')
    .option('--json', 'print {"ok","placement":{"SERVICE":{"NODE_ID":count}},"sets":{"VAR":[node ids]},"counts":{"VAR":n},"afters":[{"start","after":[{"service","stage","count","percent"}]}],"warnings":[str],"explain":[str],"moves":{"started","stopped","kept"},"failed":{"line","col","expression"}|null,"seed"}')
    .addHelpText('after', '\nExamples:\n  crux khan solve stix.khan --nodes nodes.json --json\n  crux khan solve stix.khan --nodes nodes.json --current now.json --seed 7 --explain')
    .action(async (file: string, f: { nodes: string; current?: string; seed: number | string; explain?: boolean; json?: boolean }) => {
      const { readNodes, readPlacement, readText } = await import('./khan-input.js')
      const { compile } = await import('../../machines/khan/compile.js')
      const c = compile(readText(file))
      const nodes = readNodes(f.nodes)
      const current = f.current === undefined ? {} : readPlacement(f.current)
      if (c.program === null) {
        for (const e of c.errors) err(`${file}:${e.message}`)
        if (f.json === true) out(JSON.stringify({ ok: false, placement: {}, sets: {}, counts: {}, afters: [], warnings: [], explain: c.errors.map((e) => e.message), moves: { started: 0, stopped: 0, kept: 0 }, failed: null, seed: f.seed, errors: c.errors.map((e) => e.toJSON()) }))
        process.exitCode = 1
        return
      }
      const { solve } = await import('../../machines/khan/solver.js')
      const r = solve(c.program, nodes, { current, seed: f.seed })
      // Lines that point into the program get its file name, as errors do.
      const located = (s: string) => (/^\d+:\d+: /.test(s) ? `${file}:${s}` : s)
      for (const w of c.warnings) err(`${file}:${w.line}:${w.col}: warning: ${w.message}`)
      for (const w of r.warnings) err(`warning: ${located(w)}`)
      if (f.json === true) out(JSON.stringify({ ...r, explain: r.ok && f.explain !== true ? [] : r.explain, seed: f.seed }))
      else if (r.ok) {
        for (const [svc, per] of Object.entries(r.placement)) out(`${svc}: ${Object.entries(per).map(([id, n]) => (n === 1 ? id : `${id}×${n}`)).join(' ') || '(none)'}`)
        out(`moves: ${r.moves.started} started, ${r.moves.stopped} stopped, ${r.moves.kept} kept`)
        if (f.explain === true) for (const line of r.explain) out(located(line))
      }
      if (!r.ok) {
        if (f.json !== true) for (const line of r.explain) err(located(line))
        process.exitCode = 1
      }
    })
}
