/**
 * Writes the journal: the header at creation, then every input as the host delivers it, and (unless
 * `outputs` is off) each step's resulting state value and effects, which is what lets replay point at
 * the first step that came out differently. Lines are built with JSON.stringify and buffered; a file
 * sink writes in 64 KiB chunks so recording costs a string build per delivery, not a syscall.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { JOURNAL_FORMAT, JOURNAL_VERSION, type JournalHeader } from './journal.js'

/** Where journal lines go. */
export interface JournalSink {
  /** Appends one line (without the newline). */
  write(line: string): void
  flush(): void
  close(): void
}

/** Keeps lines in memory (tests, the visualiser, short simulations). */
export class MemorySink implements JournalSink {
  readonly lines: string[] = []
  write(line: string): void {
    this.lines.push(line)
  }
  flush(): void {}
  close(): void {}
  /** The whole journal as NDJSON text. */
  text(): string {
    return this.lines.map((l) => l + '\n').join('')
  }
}

/**
 * Appends to a file, buffered. `flush()` pushes the buffer to the OS; `close()` also fsyncs. A write
 * the disk refuses (ENOSPC, EIO) ends the journal: `onError` hears it once and later lines are
 * dropped, since a journal with a hole could not be replayed anyway; the node recording it goes on.
 */
export class FileSink implements JournalSink {
  private fd: number | null
  private buf: string[] = []
  private bufBytes = 0
  /** The write that ended the journal, if one did. */
  failure: Error | null = null

  constructor(
    readonly path: string,
    private readonly chunkBytes = 64 * 1024,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.fd = openSync(path, 'w', 0o644)
  }

  write(line: string): void {
    if (this.fd === null) return
    this.buf.push(line)
    this.bufBytes += line.length + 1
    if (this.bufBytes >= this.chunkBytes) this.flush()
  }

  flush(): void {
    if (this.fd === null || this.buf.length === 0) return
    const text = this.buf.join('\n') + '\n'
    this.buf = []
    this.bufBytes = 0
    this.guard(() => {
      if (writeSync(this.fd!, text) !== Buffer.byteLength(text)) throw Object.assign(new Error('short write'), { code: 'ENOSPC' })
    })
  }

  close(): void {
    if (this.fd === null) return
    this.flush()
    if (this.fd === null) return
    const fd = this.fd
    this.guard(() => fsyncSync(fd))
    this.fd = null
    closeSync(fd)
  }

  private guard(write: () => void): void {
    try {
      write()
    } catch (err) {
      this.failure = err as Error
      const fd = this.fd!
      this.fd = null
      this.buf = []
      try {
        closeSync(fd)
      } catch {
        // The journal is over either way.
      }
      this.onError(err as Error)
    }
  }
}

export interface RecorderInit {
  node: string | null
  seed?: number | string | null
  config?: Record<string, unknown>
  machines: Record<string, string>
  /** Write a result line after every step (default true). */
  outputs?: boolean
}

export class Recorder {
  readonly header: JournalHeader
  readonly outputs: boolean
  private seq = 0
  /** Lines written (header included). */
  lines = 1

  constructor(
    private readonly sink: JournalSink,
    init: RecorderInit,
  ) {
    this.header = {
      format: JOURNAL_FORMAT,
      version: JOURNAL_VERSION,
      node: init.node,
      seed: init.seed ?? null,
      config: init.config ?? {},
      machines: init.machines,
    }
    this.outputs = init.outputs ?? true
    sink.write(JSON.stringify(this.header))
  }

  /** True when the header declares `machine` at `version` (the header is written first, so it cannot grow later). */
  knows(machine: string, version: string): boolean {
    return this.header.machines[machine] === version
  }

  spawn(t: number, actor: string, machine: string, input: unknown, node?: string): number {
    return this.input(t, actor, node, `"spawn":${JSON.stringify({ machine, input: input ?? null })}`)
  }

  delivery(t: number, actor: string, event: object, node?: string): number {
    return this.input(t, actor, node, `"in":${JSON.stringify(event)}`)
  }

  restart(t: number, actor: string, attempt: number, node?: string): number {
    return this.input(t, actor, node, `"restart":{"attempt":${attempt}}`)
  }

  stop(t: number, actor: string, node?: string): number {
    return this.input(t, actor, node, '"stop":true')
  }

  /** A note from the driver of the run (see NoteRecord): `kind` is `mark` or `fault`. */
  note(t: number, kind: 'mark' | 'fault', body: Record<string, unknown>): number {
    const seq = ++this.seq
    this.put(`{"seq":${seq},"t":${t},"${kind}":${JSON.stringify(body)}}`)
    return seq
  }

  result(seq: number, state: unknown, out: unknown[], error?: string, node?: string): void {
    if (!this.outputs) return
    const n = node === undefined ? '' : `,"node":${JSON.stringify(node)}`
    const e = error === undefined ? '' : `,"error":${JSON.stringify(error)}`
    this.put(`{"seq":${seq}${n},"state":${JSON.stringify(state)},"out":${JSON.stringify(out)}${e}}`)
  }

  flush(): void {
    this.sink.flush()
  }

  close(): void {
    this.sink.close()
  }

  /** One input record: the next seq, the time, the node (multi-node files), the actor and `body`. */
  private input(t: number, actor: string, node: string | undefined, body: string): number {
    const seq = ++this.seq
    const n = node === undefined ? '' : `,"node":${JSON.stringify(node)}`
    this.put(`{"seq":${seq},"t":${t}${n},"actor":${JSON.stringify(actor)},${body}}`)
    return seq
  }

  private put(line: string): void {
    this.lines++
    this.sink.write(line)
  }
}
