/**
 * `npm run bench -- NAME [ARGS...]`: runs bench/NAME and prints its one JSON line. Each benchmark
 * module exports `run(args: string[]): Promise<Record<string, unknown>>`; keeping the printing here
 * guarantees every benchmark emits exactly one line of JSON and nothing else on stdout.
 */
import { readdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const names = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js' && f !== 'flags.js')
  .map((f) => f.slice(0, -3))
  .sort()

const [name, ...args] = process.argv.slice(2)
if (name === undefined || name === '--help' || name === '-h') {
  process.stderr.write(`usage: npm run bench -- NAME [ARGS...]\nbenchmarks: ${names.join(', ')}\n`)
  process.exit(name === undefined ? 2 : 0)
}
if (!names.includes(name)) {
  process.stderr.write(`crux: unknown benchmark ${JSON.stringify(name)} (known: ${names.join(', ')})\n`)
  process.exit(2)
}
const mod = (await import(`./${name}.js`)) as { run(args: string[]): Promise<Record<string, unknown>> }
try {
  const result = await mod.run(args)
  process.stdout.write(JSON.stringify({ bench: name, ...result }) + '\n')
} catch (err) {
  process.stderr.write(`crux: benchmark ${name} failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
