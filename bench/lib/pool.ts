/** What the load benchmarks share: a bounded pool of calls, and the figures they report. */

const now = () => performance.now()

/** Runs fn(i) for i in [0, n) with at most `conc` in flight; per-op latencies in ms. */
export async function pool(n: number, conc: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat = new Array<number>(n)
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= n) return
      const t = now()
      await fn(i)
      lat[i] = now() - t
    }
  }
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker))
  return lat
}

/** The q-quantile of `xs` (0 ≤ q ≤ 1). */
export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

/** Rounded to 2 decimals. */
export const r2 = (x: number): number => Math.round(x * 100) / 100

/**
 * Runs `n` calls of `fn` with `conc` in flight as phase `name`: `<name>_ops`, `_p50_ms`, `_p99_ms`
 * into `out`, and one line to `log`.
 */
export async function timedPhase(name: string, n: number, conc: number, fn: (i: number) => Promise<unknown>, out: Record<string, unknown>, log: (s: string) => void): Promise<void> {
  const t = now()
  const lat = await pool(n, conc, fn)
  const s = (now() - t) / 1000
  out[`${name}_ops`] = Math.round(n / s)
  out[`${name}_p50_ms`] = r2(quantile(lat, 0.5))
  out[`${name}_p99_ms`] = r2(quantile(lat, 0.99))
  log(`${name}: ${n} in ${s.toFixed(2)} s = ${Math.round(n / s)}/s, p50 ${quantile(lat, 0.5).toFixed(2)} ms, p99 ${quantile(lat, 0.99).toFixed(2)} ms`)
}
