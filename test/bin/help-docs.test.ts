/**
 * Help text names only what ships: every `*.md` that `crux … --help` cites, for every command and
 * subcommand, is a file of the package (package.json "files"), and no help cites the design notes
 * kept outside it (seeds, ARCHITECTURE, CLI.md, ../shared).
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'

const help = (path: string[]): string => {
  const r = spawnSync(process.execPath, ['dist/bin/crux.bundle.mjs', ...path, '--help'], { encoding: 'utf8', timeout: 30_000 })
  if (r.status !== 0) throw new Error(`crux ${path.join(' ')} --help: exit ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** The subcommands a help page lists under "Commands:". */
const subcommands = (page: string): string[] => {
  const at = page.indexOf('\nCommands:\n')
  if (at < 0) return []
  const block = page.slice(at + 11).split(/\n(?=\S)/)[0]!
  return [...block.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!).filter((c) => c !== 'help')
}

/** Every help page, by command path: crux, crux fulcrum, crux admin forget, … */
function allPages(): Map<string, string> {
  const pages = new Map<string, string>()
  const visit = (path: string[]) => {
    const page = help(path)
    pages.set(['crux', ...path].join(' '), page)
    for (const sub of subcommands(page)) visit([...path, sub])
  }
  visit([])
  return pages
}

test('every document a help page cites ships with the package', (t) => {
  const files = (JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] }).files
  const shipped = (p: string) => files.some((f) => p === f || p.startsWith(`${f}/`)) && existsSync(p)
  const pages = allPages()
  t.true(pages.size >= 30, `${pages.size} help pages`)
  t.true(pages.has('crux admin forget') && pages.has('crux keygen cert') && pages.has('crux beacon stop'))
  for (const [cmd, page] of pages) {
    for (const [cited] of page.matchAll(/[\w./-]*\.md\b/g)) t.true(shipped(cited), `${cmd} --help cites ${cited}, which the package does not ship`)
    for (const [cited] of page.matchAll(/\bseed \d{3}\b|ARCHITECTURE|\.\.\/shared|original-crux|§\s?\d/g)) t.fail(`${cmd} --help cites ${cited}, a design note outside the package`)
  }
})
