/**
 * Bounded line splitting of what a service writes: its stdout and stderr (logged by the fulcrum) and
 * its channel to the node. A service is untrusted, so no line is held past `max` characters: the rest
 * of an over-long line is dropped (the line is passed on cut, marked `truncated`) and memory stays
 * bounded however much it writes without a newline.
 */

/** Feeds text in, calls `onLine` per complete line; `end()` passes on a last unterminated line. */
export interface LineSplitter {
  push(chunk: string): void
  end(): void
}

export function splitLines(max: number, onLine: (line: string, truncated: boolean) => void): LineSplitter {
  let buf = ''
  /** In the middle of an over-long line already passed on: skip to its newline. */
  let skipping = false
  return {
    push(chunk) {
      let at = 0
      while (at < chunk.length) {
        const nl = chunk.indexOf('\n', at)
        const piece = chunk.slice(at, nl < 0 ? chunk.length : nl)
        at = nl < 0 ? chunk.length : nl + 1
        if (!skipping) {
          buf += piece
          if (buf.length > max) {
            onLine(buf.slice(0, max), true)
            buf = ''
            skipping = nl < 0
            continue
          }
          if (nl >= 0) {
            onLine(buf, false)
            buf = ''
          }
        } else if (nl >= 0) skipping = false
      }
    },
    end() {
      if (buf !== '') onLine(buf, false)
      buf = ''
    },
  }
}
