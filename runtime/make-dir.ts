/**
 * mkdir -p that cannot hang. Node's own recursive mkdir loops forever when mkdir says ENOENT under a
 * parent that exists, which procfs does: `crux fulcrum --data-dir /proc/foo` and `crux keygen node
 * --data-dir /proc/foo` hung. Here that is an ENOENT error, like any other failure.
 */
import { mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

/** Makes `dir` and its missing parents (mode `mode`); throws the system error of the step that failed. */
export function makeDir(dir: string, mode = 0o700): void {
  make(dir, mode, 0)
}

function make(dir: string, mode: number, depth: number): void {
  try {
    mkdirSync(dir, { mode })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' })
      return
    }
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir || depth > 4096) throw err
    make(parent, mode, depth + 1)
    mkdirSync(dir, { mode }) // ENOENT again, under a parent that exists: that error stands
  }
}
