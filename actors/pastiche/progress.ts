/**
 * A progress line for transfers on a terminal: bytes so far, the whole, the rate and the time left,
 * redrawn at most 10 times a second on one line of stderr and cleared at the end. Only when stderr is
 * a terminal: a pipe or a log file gets nothing (and `--json` output stays the only output).
 */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** `n` bytes as a person reads them: `512 B`, `1.5 MiB`. */
export function formatBytes(n: number): string {
  let u = 0
  while (n >= 1024 && u < UNITS.length - 1) (n /= 1024), u++
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${UNITS[u]}`
}

/** One progress line: `12.0 MiB / 100.0 MiB  45.3 MiB/s  ETA 2s` (total 0: unknown). */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
  const parts = [total > 0 ? `${formatBytes(done)} / ${formatBytes(total)}` : formatBytes(done), `${formatBytes(Math.round(rate))}/s`]
  if (total > 0 && rate > 0) parts.push(`ETA ${Math.ceil((total - done) / rate)}s`)
  return parts.join('  ')
}

export interface Progress {
  update(done: number, total: number): void
  end(): void
}

/** A progress line on `out` when it is a terminal and `enabled`; otherwise does nothing. */
export function progress(label: string, enabled: boolean, out: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || out.isTTY !== true) return { update() {}, end() {} }
  const t0 = performance.now()
  let last = 0
  let shown = false
  return {
    update(done, total) {
      const now = performance.now()
      if (now - last < 100 && done !== total) return
      last = now
      shown = true
      out.write(`\r\x1b[2K${label} ${progressLine(done, total, now - t0)}`)
    },
    end() {
      if (shown) out.write('\r\x1b[2K')
    },
  }
}
