/**
 * Metrics on prom-client, one {@link Registry} per node (never prom-client's global default: the
 * simulator keeps many nodes in one process, and their series must not mix).
 *
 * Hot paths do not call prom-client. They keep plain numeric counters in their own objects (the
 * mailbox's drop counts, the host's step count) and register a reader with {@link Metrics.counterFrom}
 * or {@link Metrics.gaugeFrom}; prom-client calls it through the metric's `collect()` at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { Code, CruxError, InvalidArgumentError } from './errors.js'

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

/** A node's metrics registry. */
export class Metrics {
  /** The prom-client registry (for an HTTP `/metrics` handler or `Registry.merge`). */
  readonly registry: Registry

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry()
    if (options.labels !== undefined) this.registry.setDefaultLabels(options.labels)
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry })
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
      throw new CruxError(Code.ALREADY_EXISTS, `metric ${JSON.stringify(name)} is already registered`, { details: { name } })
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
