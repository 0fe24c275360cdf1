/**
 * A latency histogram kept as plain numbers: the store and the gRPC edge observe into it on their
 * paths (a few comparisons, no allocation), and `/metrics` reads it at scrape time
 * (runtime/metrics.ts `histogramFrom`). It loads nothing: a fulcrum without `--metrics` never loads
 * prom-client, yet its store still times its syncs for the day it is scraped.
 */

/** Upper bounds, seconds: 0.5 ms (a page-cache fdatasync) to 10 s (a stalled disk or a slow call). */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])

/** Observations counted per bucket (not cumulative), their sum and their count. */
export class LatencyHistogram {
  /** `counts[i]` counts observations ≤ `bounds[i]` and above the bound before; the last slot is +Inf. */
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  /** Records one observation, in seconds. */
  observe(seconds: number): void {
    let i = 0
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++
    this.counts[i]!++
    this.sum += seconds
    this.count++
  }

  /** Records the time since `startMs` (a `performance.now()` reading). */
  since(startMs: number): void {
    this.observe((performance.now() - startMs) / 1000)
  }
}
