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

/**
 * One named class per code, so a caller tells failures apart with `instanceof` (or by `code`), never
 * by a message's words. Each takes a message fit to print after `crux: ` and the usual options.
 */
function named(code: Code, name: string) {
  return class extends CruxError {
    constructor(message: string, options?: CruxErrorOptions) {
      super(code, message, options)
      this.name = name
    }
  }
}

/** The operation was cancelled (by its caller). */
export class CancelledError extends named(Code.CANCELLED, 'CancelledError') {}
/** A failure no other code describes. */
export class UnknownError extends named(Code.UNKNOWN, 'UnknownError') {}
/** Bad input from a user, a file or a flag. */
export class InvalidArgumentError extends named(Code.INVALID_ARGUMENT, 'InvalidArgumentError') {}
/** No answer within the deadline. */
export class DeadlineExceededError extends named(Code.DEADLINE_EXCEEDED, 'DeadlineExceededError') {}
/** A lookup for something that does not exist (an actor id, a machine name). */
export class NotFoundError extends named(Code.NOT_FOUND, 'NotFoundError') {}
/** Something that must be unique exists already (a metric name). */
export class AlreadyExistsError extends named(Code.ALREADY_EXISTS, 'AlreadyExistsError') {}
/** The caller may not do this (a refused call: see {@link CallRefusedError}). */
export class PermissionDeniedError extends named(Code.PERMISSION_DENIED, 'PermissionDeniedError') {}
/** A bounded resource refused more work (a full control mailbox, too many restarts). */
export class ResourceExhaustedError extends named(Code.RESOURCE_EXHAUSTED, 'ResourceExhaustedError') {}
/** Not in a state to do this (not the steward, a term that moved on). */
export class FailedPreconditionError extends named(Code.FAILED_PRECONDITION, 'FailedPreconditionError') {}
/** Given up on, after a conflict. */
export class AbortedError extends named(Code.ABORTED, 'AbortedError') {}
/** A value past the range it may take. */
export class OutOfRangeError extends named(Code.OUT_OF_RANGE, 'OutOfRangeError') {}
/** Not implemented by this peer. */
export class UnimplementedError extends named(Code.UNIMPLEMENTED, 'UnimplementedError') {}
/** A broken invariant of crux itself. */
export class InternalError extends named(Code.INTERNAL, 'InternalError') {}
/** Something asked of a closed or crashed component, or of a peer that does not answer. */
export class UnavailableError extends named(Code.UNAVAILABLE, 'UnavailableError') {}
/** Data lost or unreadable (a damaged journal or store). */
export class DataLossError extends named(Code.DATA_LOSS, 'DataLossError') {}
/** The caller's credentials did not check out (a bad signature, a stale one). */
export class UnauthenticatedError extends named(Code.UNAUTHENTICATED, 'UnauthenticatedError') {}

const byCode: Record<number, new (message: string, options?: CruxErrorOptions) => CruxError> = {
  [Code.CANCELLED]: CancelledError,
  [Code.UNKNOWN]: UnknownError,
  [Code.INVALID_ARGUMENT]: InvalidArgumentError,
  [Code.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [Code.NOT_FOUND]: NotFoundError,
  [Code.ALREADY_EXISTS]: AlreadyExistsError,
  [Code.PERMISSION_DENIED]: PermissionDeniedError,
  [Code.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [Code.FAILED_PRECONDITION]: FailedPreconditionError,
  [Code.ABORTED]: AbortedError,
  [Code.OUT_OF_RANGE]: OutOfRangeError,
  [Code.UNIMPLEMENTED]: UnimplementedError,
  [Code.INTERNAL]: InternalError,
  [Code.UNAVAILABLE]: UnavailableError,
  [Code.DATA_LOSS]: DataLossError,
  [Code.UNAUTHENTICATED]: UnauthenticatedError,
}

/**
 * The named error for a status code, as an edge that receives codes makes it (a gRPC client: its
 * status numbers are these codes). A code crux does not know, or OK, becomes {@link UnknownError}
 * with the number in `details.status`.
 */
export function errorFor(code: number, message: string, options: CruxErrorOptions = {}): CruxError {
  const Named = byCode[code]
  if (Named !== undefined) return new Named(message, options)
  return new UnknownError(message, { ...options, details: { status: code, ...options.details } })
}

/**
 * A call a peer refused. The caller is told the same words whatever the reason (`call refused`), so
 * it learns nothing it could use; why is kept in `details.why` for the refusing side's own log.
 */
export class CallRefusedError extends PermissionDeniedError {
  constructor(why?: string) {
    super('call refused', why === undefined ? {} : { details: { why } })
    this.name = 'CallRefusedError'
  }
}

/**
 * The answer of a peer that failed a call: the named error of its code, with `details.remote` the
 * address that was called, so a caller tells the peer's failures from its own by that field. `what`
 * prefixes the message (`reeve HOST:PORT`); `words` are the peer's own (also kept in `details.grpc`).
 */
export function remoteError(code: number, remote: string, what: string, words: string): CruxError {
  return errorFor(code, `${what}: ${words}`, { details: { remote, grpc: words } })
}

/** Whether `err` is a peer's answer to a call to `remote` (see {@link remoteError}). */
export function isRemoteError(err: unknown, remote: string): err is CruxError {
  return err instanceof CruxError && err.details?.['remote'] === remote
}

/** A journal (trace) that cannot be read: truncated, wrong version, wrong types. */
export class JournalError extends DataLossError {
  constructor(message: string, options?: CruxErrorOptions) {
    super(message, options)
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

/**
 * An address that cannot be bound — a UDP, gRPC, HTTP port taken, an address not on this host, no
 * permission: a failure to start (exit 1), whichever listener it was. `details.address` is what was
 * asked for, `details.errno` the system's code (EADDRINUSE, EADDRNOTAVAIL, EACCES…) when there is one.
 */
export class BindError extends UnavailableError {
  readonly address: string
  readonly errno: string | undefined

  constructor(message: string, address: string, cause?: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code
    super(message, { details: { address, ...(errno === undefined ? {} : { errno }) }, ...(cause === undefined ? {} : { cause }) })
    this.name = 'BindError'
    this.address = address
    this.errno = errno
  }
}

/**
 * The bind failure of a listener named `what` (`gRPC`, `metrics`…) at `address`:
 * `cannot serve WHAT on ADDRESS (ERRNO)`, one line.
 */
export function cannotServe(what: string, address: string, cause: unknown): BindError {
  const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause instanceof Error ? cause.message : String(cause))
  return new BindError(`cannot serve ${what === '' ? '' : `${what} `}on ${address} (${why})`, address, cause)
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

/** An endpoint asked for an address that an open endpoint already holds (EADDRINUSE): a {@link BindError}. */
export class AddressInUseError extends BindError {
  constructor(address: string, cause?: unknown) {
    super(`address ${address} is already in use`, address, cause)
    this.name = 'AddressInUseError'
  }
}
