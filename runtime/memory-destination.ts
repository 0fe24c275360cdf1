/**
 * An in-memory pino destination: keeps every NDJSON line written to it. For tests, and for the
 * simulator when it wants a node's log as data rather than on stdout.
 */
import type { DestinationStream } from 'pino'

/** A pino {@link DestinationStream} that keeps what is written. */
export class MemoryDestination implements DestinationStream {
  private text = ''

  write(chunk: string): void {
    this.text += chunk
  }

  /** Everything written so far, verbatim. */
  get raw(): string {
    return this.text
  }

  /** The complete lines written so far, parsed (a partial last line is left out). */
  lines(): Array<Record<string, unknown>> {
    return readNdjson(this.text)
  }

  /** Forgets what was written. */
  clear(): void {
    this.text = ''
  }
}

/** Parses NDJSON text: one JSON object per `\n`-terminated line; blank lines are skipped. */
export function readNdjson(text: string): Array<Record<string, unknown>> {
  const end = text.lastIndexOf('\n')
  if (end < 0) return []
  const out: Array<Record<string, unknown>> = []
  for (const line of text.slice(0, end).split('\n')) {
    if (line.trim() !== '') out.push(JSON.parse(line) as Record<string, unknown>)
  }
  return out
}
