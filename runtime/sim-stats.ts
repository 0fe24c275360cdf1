/**
 * The simulated network's counters, as a snapshot. They always balance:
 * `sent + duplicated = delivered + dropped.total + inFlight` (each copy of a packet is delivered,
 * dropped for exactly one reason, or still in flight), and the reasons sum to `dropped.total`.
 */

/** Why packets were dropped. */
export interface DropCounts {
  loss: number
  partition: number
  /** Sender or destination crashed at send time, or the destination crashed before the copy landed. */
  crash: number
  /** Destination was bound once but has no open endpoint. */
  closed: number
  /** Destination was never bound. */
  unknown: number
  total: number
}

/** A snapshot of the network's counters. */
export interface SimStats {
  /** send() calls that reached the network (oversize and closed-endpoint sends throw and are not counted). */
  sent: number
  delivered: number
  /** Extra copies created by the `duplicate` fault. */
  duplicated: number
  /** Copies held back by the `reorder` fault. */
  reordered: number
  /** Copies scheduled and not yet landed. */
  inFlight: number
  dropped: DropCounts
  bytesSent: number
  bytesDelivered: number
}
