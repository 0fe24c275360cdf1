/**
 * Metrics on prom-client, one {@link Registry} per node (never prom-client's global default: the
 * simulator keeps many nodes in one process, and their series must not mix).
 *
 * Hot paths do not call prom-client. They keep plain numeric counters in their own objects (the
 * mailbox's drop counts, the host's step count) and register a reader with {@link Metrics.counterFrom}
 * or {@link Metrics.gaugeFrom}; prom-client calls it through the metric's `collect()` at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { AlreadyExistsError, InvalidArgumentError } from './errors.js'
import type { LatencyHistogram } from './latency.js'

/** Label values of one series. */
export type MetricLabels<L extends string> = Partial<Record<L, string | number>>

/** What a reader returns: a single value (a metric without labels) or one value per label set. */
export type Reading<L extends string> = number | Iterable<readonly [MetricLabels<L>, number]>

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Labels on every series of this registry, e.g. `{ node: 'n1' }`. */
  labels?: Record<string, string>
  /** Also collect Node's process metrics (CPU, heap, event loop). Off by default: in a simulation
   * every node shares one process, so these would be the same series repeated per node. */
  defaultMetrics?: boolean
}

/**
 * How often prom-client samples the event loop's delay, ms. Its default, 10 ms, wakes an idle process
 * 100 times a second: measured, ≈ 5 ms of CPU a second, half of a fulcrum's idle budget (1 % of a
 * core); at 100 ms the cost was lost in the noise, and a stall still shows in the percentiles.
 */
const EVENT_LOOP_PRECISION_MS = 100

/**
 * prom-client's default series that promtool refuses (`nodejs_active_handles_total` and its kind are
 * gauges named like counters); each is the sum over `type` of a series kept (`nodejs_active_handles`).
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** A node's metrics registry. */
export class Metrics {
  /** The prom-client registry (for an HTTP `/metrics` handler or `Registry.merge`). */
  readonly registry: Registry

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry()
    if (options.labels !== undefined) this.registry.setDefaultLabels(options.labels)
    if (options.defaultMetrics === true) {
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS })
      for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(name)
    }
  }

  /** A counter whose values are read from `read()` at scrape time (they must never decrease). */
  counterFrom<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Reading<L>): Counter<L> {
    return this.make(name, () => new Counter<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        // A counter can only be incremented, so start from zero and add the absolute reading.
        this.reset()
        apply(read(), (labels, v) => this.inc(labels, v), (v) => this.inc(v))
      },
    }))
  }

  /** A gauge whose values are read from `read()` at scrape time. */
  gaugeFrom<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Reading<L>): Gauge<L> {
    return this.make(name, () => new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        // Reset first so label sets that vanished from the reading vanish from the scrape.
        this.reset()
        apply(read(), (labels, v) => this.set(labels, v), (v) => this.set(v))
      },
    }))
  }

  /** An ordinary counter, for code that is not hot enough to need {@link counterFrom}. */
  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.make(name, () => new Counter<L>({ name, help, labelNames, registers: [this.registry] }))
  }

  /** An ordinary gauge. */
  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.make(name, () => new Gauge<L>({ name, help, labelNames, registers: [this.registry] }))
  }

  /** A histogram (prom-client's default buckets unless given). */
  histogram<L extends string = never>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return this.make(name, () => new Histogram<L>({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) }))
  }

  /**
   * A histogram whose buckets are read from plain {@link LatencyHistogram}s at scrape time, one per
   * label set: the code that observes never touches prom-client. Every histogram read must share
   * one set of bounds.
   */
  histogramFrom<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Iterable<readonly [MetricLabels<L>, LatencyHistogram]>): void {
    this.make(name, () => {
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error('Invalid metric name')
      for (const l of labelNames) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l) || l === 'le') throw new Error(`Invalid label name: ${l}`)
      const metric = {
        name,
        help,
        type: 'histogram' as const,
        aggregator: 'sum' as const,
        get: async () => ({ name, help, type: 'histogram' as const, aggregator: 'sum' as const, values: [...histogramValues(name, read())] }),
        // Registry.resetMetrics() calls it: the numbers belong to their owner, which alone resets them.
        reset: () => undefined,
      }
      this.registry.registerMetric(metric as unknown as Histogram<string>)
      return metric
    })
  }

  /** Unregisters a metric (e.g. when the component that fed it is closed). Unknown names are ignored. */
  remove(name: string): void {
    this.registry.removeSingleMetric(name)
  }

  /** The registry in Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  /** The Content-Type header for {@link text}. */
  get contentType(): string {
    return this.registry.contentType
  }

  private make<M>(name: string, build: () => M): M {
    if (this.registry.getSingleMetric(name) !== undefined) {
      throw new AlreadyExistsError(`metric ${JSON.stringify(name)} is already registered`, { details: { name } })
    }
    try {
      return build()
    } catch (err) {
      // prom-client throws plain Errors for bad metric or label names; those are caller mistakes.
      throw new InvalidArgumentError(`cannot register metric ${JSON.stringify(name)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details: { name } })
    }
  }
}

/** Creates a node's metrics registry. */
export function createMetrics(options?: MetricsOptions): Metrics {
  return new Metrics(options)
}

function apply<L extends string>(
  reading: Reading<L>,
  labelled: (labels: MetricLabels<L>, v: number) => void,
  single: (v: number) => void,
): void {
  if (typeof reading === 'number') single(reading)
  else for (const [labels, v] of reading) labelled(labels, v)
}

/** The exposition's samples of histograms: cumulative `_bucket`s up to `+Inf`, `_sum`, `_count`. */
function* histogramValues<L extends string>(name: string, read: Iterable<readonly [MetricLabels<L>, LatencyHistogram]>) {
  for (const [labels, h] of read) {
    let cumulative = 0
    for (let i = 0; i <= h.bounds.length; i++) {
      cumulative += h.counts[i]!
      yield { metricName: `${name}_bucket`, labels: { ...labels, le: i < h.bounds.length ? h.bounds[i]! : '+Inf' }, value: cumulative }
    }
    yield { metricName: `${name}_sum`, labels, value: h.sum }
    yield { metricName: `${name}_count`, labels, value: h.count }
  }
}
