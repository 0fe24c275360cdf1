/**
 * The protobuf sources are lint-clean and protos/gen/ is exactly what `cd protos && buf generate` makes
 * (the same check CI makes with git diff, here without git). Both run offline: buf's local ts-proto.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

// dist/test/protos/ → the package root.
const root = fileURLToPath(new URL('../../../', import.meta.url))
const protos = join(root, 'protos')
const buf = join(root, 'node_modules', '.bin', 'buf')

function run(args: string[]) {
  return spawnSync(buf, args, { cwd: protos, encoding: 'utf8', timeout: 60_000 })
}

/** Files under `dir`, as sorted relative paths. */
function files(dir: string, base = dir): string[] {
  const out: string[] = []
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name)
    if (d.isDirectory()) out.push(...files(p, base))
    else if (d.isFile()) out.push(relative(base, p))
  }
  return out.sort()
}

test('buf lint passes (STANDARD)', (t) => {
  const r = run(['lint'])
  t.is(r.status, 0, `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}`)
})

test('protos/gen is what buf generate makes from the sources', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'crux-buf-'))
  try {
    const r = run(['generate', '-o', out])
    t.is(r.status, 0, `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}`)
    const fresh = join(out, 'gen')
    const committed = join(protos, 'gen')
    t.deepEqual(files(fresh), files(committed))
    for (const f of files(fresh)) t.is(readFileSync(join(committed, f), 'utf8'), readFileSync(join(fresh, f), 'utf8'), `${f} differs: run npm run protos`)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
