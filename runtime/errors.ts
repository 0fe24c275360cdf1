/**
 * Errors at API edges (seed 004's proposal): one `CruxError` carrying a gRPC status code, a message,
 * an optional cause and optional structured details. The numeric codes are gRPC's, copied here so
 * that code which never touches gRPC (the CLI, the simulator) need not load @grpc/grpc-js; the gRPC
 * edge maps `code` straight onto a status. Inside machines, failures are events, never throws.
 */

/** gRPC status codes (google.rpc.Code). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const
export type Code = (typeof Code)[keyof typeof Code]

const codeNames = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k])) as Record<number, string>

/** The name of a status code (`3` → `INVALID_ARGUMENT`). */
export function codeName(code: number): string {
  return codeNames[code] ?? `CODE_${code}`
}

export interface CruxErrorOptions {
  cause?: unknown
  details?: Record<string, unknown>
}

/** The base error of crux. `message` is one line, fit to print after `crux: `. */
export class CruxError extends Error {
  readonly code: Code
  readonly details: Record<string, unknown> | undefined

  constructor(code: Code, message: string, options: CruxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CruxError'
    this.code = code
    this.details = options.details
  }

  /** A plain object for logs and `--json` output. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: codeName(this.code),
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
      ...(this.cause === undefined ? {} : { cause: String(this.cause) }),
    }
  }

  /** Wraps anything thrown into a CruxError (an existing CruxError passes through unchanged). */
  static from(err: unknown, code: Code = Code.UNKNOWN): CruxError {
    if (err instanceof CruxError) return err
    const message = err instanceof Error ? err.message : String(err)
    return new CruxError(code, message, { cause: err })
  }
}

/** Bad input from a user, a file or a flag. */
export class InvalidArgumentError extends CruxError {
  constructor(message: string, options?: CruxErrorOptions) {
    super(Code.INVALID_ARGUMENT, message, options)
    this.name = 'InvalidArgumentError'
  }
}

/** A journal (trace) that cannot be read: truncated, wrong version, wrong types. */
export class JournalError extends CruxError {
  constructor(message: string, options?: CruxErrorOptions) {
    super(Code.DATA_LOSS, message, options)
    this.name = 'JournalError'
  }
}

/**
 * A file of a fulcrum's data dir that cannot be loaded: not the format, wrong types, another node's.
 * The message is `<file>: <what is wrong>`; a journal's kind, since a store log is a journal of puts.
 */
export class DataDirError extends JournalError {
  readonly file: string

  constructor(file: string, problem: string, options?: CruxErrorOptions) {
    super(`${file}: ${problem}`, { ...options, details: { file, problem, ...options?.details } })
    this.name = 'DataDirError'
    this.file = file
  }
}

/** A bounded resource refused more work (a full control mailbox, too many restarts). */
export class ResourceExhaustedError extends CruxError {
  constructor(message: string, options?: CruxErrorOptions) {
    super(Code.RESOURCE_EXHAUSTED, message, options)
    this.name = 'ResourceExhaustedError'
  }
}

/** Something asked of a closed or crashed component. */
export class UnavailableError extends CruxError {
  constructor(message: string, options?: CruxErrorOptions) {
    super(Code.UNAVAILABLE, message, options)
    this.name = 'UnavailableError'
  }
}

/** A lookup for something that does not exist (an actor id, a machine name). */
export class NotFoundError extends CruxError {
  constructor(message: string, options?: CruxErrorOptions) {
    super(Code.NOT_FOUND, message, options)
    this.name = 'NotFoundError'
  }
}

/** A datagram larger than the transport's limit. */
export class DatagramTooLargeError extends CruxError {
  constructor(size: number, limit: number) {
    super(Code.INVALID_ARGUMENT, `datagram of ${size} bytes exceeds the ${limit}-byte limit`, { details: { size, limit } })
    this.name = 'DatagramTooLargeError'
  }
}

/** A send on a transport that was closed. */
export class TransportClosedError extends CruxError {
  constructor(address: string) {
    super(Code.UNAVAILABLE, `transport ${address} is closed`, { details: { address } })
    this.name = 'TransportClosedError'
  }
}

/** An endpoint asked for an address that an open endpoint already holds (EADDRINUSE). */
export class AddressInUseError extends CruxError {
  constructor(address: string, cause?: unknown) {
    super(Code.ALREADY_EXISTS, `address ${address} is already in use`, {
      details: { address },
      ...(cause === undefined ? {} : { cause }),
    })
    this.name = 'AddressInUseError'
  }
}
