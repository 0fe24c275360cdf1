import test from 'ava'
import {
  AddressInUseError,
  BindError,
  CallRefusedError,
  cannotServe,
  Code,
  codeName,
  CruxError,
  DatagramTooLargeError,
  DeadlineExceededError,
  errorFor,
  FailedPreconditionError,
  InvalidArgumentError,
  isRemoteError,
  JournalError,
  NotFoundError,
  PermissionDeniedError,
  remoteError,
  ResourceExhaustedError,
  TransportClosedError,
  UnauthenticatedError,
  UnavailableError,
  UnknownError,
} from '../../runtime/errors.js'

test('a CruxError carries code, message, cause and details', (t) => {
  const cause = new Error('disk full')
  const e = new CruxError(Code.DATA_LOSS, 'checkpoint not written', { cause, details: { path: '/d/ckpt' } })
  t.is(e.code, Code.DATA_LOSS)
  t.is(e.message, 'checkpoint not written')
  t.is(e.cause, cause)
  t.deepEqual(e.details, { path: '/d/ckpt' })
  t.is(e.name, 'CruxError')
})

test('a CruxError without options has no cause and no details', (t) => {
  const e = new CruxError(Code.INTERNAL, 'x')
  t.false('cause' in e)
  t.is(e.details, undefined)
})

test('toJSON names the code and omits what is absent', (t) => {
  t.deepEqual(new CruxError(Code.NOT_FOUND, 'no such actor').toJSON(), {
    name: 'CruxError',
    code: 'NOT_FOUND',
    message: 'no such actor',
  })
})

test('toJSON includes details and the cause as a string', (t) => {
  const e = new CruxError(Code.ABORTED, 'gave up', { cause: new Error('timeout'), details: { tries: 3 } })
  t.deepEqual(e.toJSON(), { name: 'CruxError', code: 'ABORTED', message: 'gave up', details: { tries: 3 }, cause: 'Error: timeout' })
  t.is(JSON.parse(JSON.stringify(e)).code, 'ABORTED')
})

test('codeName maps known codes and marks unknown ones', (t) => {
  t.is(codeName(Code.INVALID_ARGUMENT), 'INVALID_ARGUMENT')
  t.is(codeName(0), 'OK')
  t.is(codeName(99), 'CODE_99')
})

test('from() passes a CruxError through unchanged', (t) => {
  const e = new NotFoundError('gone')
  t.is(CruxError.from(e, Code.INTERNAL), e)
})

test('from() wraps an Error with its message, the given code and the original as cause', (t) => {
  const orig = new TypeError('bad')
  const e = CruxError.from(orig, Code.INTERNAL)
  t.is(e.code, Code.INTERNAL)
  t.is(e.message, 'bad')
  t.is(e.cause, orig)
})

test('from() wraps a non-Error as UNKNOWN with its string form', (t) => {
  const e = CruxError.from(42)
  t.is(e.code, Code.UNKNOWN)
  t.is(e.message, '42')
  t.is(e.cause, 42)
})

test('subclasses have their codes and names and are CruxErrors and Errors', (t) => {
  const cases: Array<[CruxError, Code, string]> = [
    [new InvalidArgumentError('m'), Code.INVALID_ARGUMENT, 'InvalidArgumentError'],
    [new JournalError('m'), Code.DATA_LOSS, 'JournalError'],
    [new ResourceExhaustedError('m'), Code.RESOURCE_EXHAUSTED, 'ResourceExhaustedError'],
    [new UnavailableError('m'), Code.UNAVAILABLE, 'UnavailableError'],
    [new NotFoundError('m'), Code.NOT_FOUND, 'NotFoundError'],
    [new DatagramTooLargeError(2000, 1400), Code.INVALID_ARGUMENT, 'DatagramTooLargeError'],
    [new TransportClosedError('udp://a'), Code.UNAVAILABLE, 'TransportClosedError'],
  ]
  for (const [e, code, name] of cases) {
    t.is(e.code, code, name)
    t.is(e.name, name)
    t.true(e instanceof CruxError, name)
    t.true(e instanceof Error, name)
    t.is(e.toJSON()['name'], name)
  }
})

test('subclasses are distinct under instanceof', (t) => {
  const e = new JournalError('truncated')
  t.false(e instanceof InvalidArgumentError)
  t.false(new DatagramTooLargeError(1, 0) instanceof TransportClosedError)
})

test('subclass options pass the cause and details through', (t) => {
  const cause = new Error('eof')
  const e = new JournalError('truncated', { cause, details: { line: 7 } })
  t.is(e.cause, cause)
  t.deepEqual(e.details, { line: 7 })
})

test('fixed-message subclasses build their message and details', (t) => {
  const big = new DatagramTooLargeError(2000, 1400)
  t.is(big.message, 'datagram of 2000 bytes exceeds the 1400-byte limit')
  t.deepEqual(big.details, { size: 2000, limit: 1400 })
  const closed = new TransportClosedError('mem://n1')
  t.is(closed.message, 'transport mem://n1 is closed')
  t.deepEqual(closed.details, { address: 'mem://n1' })
})

test('a CruxError has a stack', (t) => {
  t.regex(new UnavailableError('down').stack ?? '', /UnavailableError: down/)
})

test('every code has its named class: errorFor makes it, instanceof and code tell it', (t) => {
  const names: Record<string, string> = {}
  for (const [key, code] of Object.entries(Code)) {
    if (code === Code.OK) continue
    const e = errorFor(code, `failed with ${key}`)
    t.true(e instanceof CruxError)
    t.is(e.code, code)
    t.is(codeName(e.code), key)
    t.is(e.message, `failed with ${key}`)
    names[key] = e.name
  }
  t.is(new Set(Object.values(names)).size, 16, 'one class per code')
  t.true(errorFor(Code.NOT_FOUND, 'x') instanceof NotFoundError)
  t.true(errorFor(Code.PERMISSION_DENIED, 'x') instanceof PermissionDeniedError)
  t.true(errorFor(Code.UNAUTHENTICATED, 'x') instanceof UnauthenticatedError)
  t.true(errorFor(Code.DEADLINE_EXCEEDED, 'x') instanceof DeadlineExceededError)
  t.true(errorFor(Code.FAILED_PRECONDITION, 'x') instanceof FailedPreconditionError)
  const odd = errorFor(99, 'x')
  t.true(odd instanceof UnknownError)
  t.deepEqual(odd.details, { status: 99 })
})

test('a refusal says the same words whatever the reason, and keeps why for the refusing side', (t) => {
  const e = new CallRefusedError('not on the whitelist')
  t.true(e instanceof PermissionDeniedError)
  t.is(e.code, Code.PERMISSION_DENIED)
  t.is(e.message, 'call refused')
  t.deepEqual(e.details, { why: 'not on the whitelist' })
})

test('a peer failure is told from our own by the address it carries, not by its words', (t) => {
  const e = remoteError(Code.UNAVAILABLE, '127.77.200.1:50059', 'reeve 127.77.200.1:50059', 'connect ECONNREFUSED')
  t.true(e instanceof UnavailableError)
  t.is(e.message, 'reeve 127.77.200.1:50059: connect ECONNREFUSED')
  t.true(isRemoteError(e, '127.77.200.1:50059'))
  t.false(isRemoteError(e, '127.77.200.2:50059'))
  t.false(isRemoteError(new UnavailableError('reeve 127.77.200.1:50059: connect ECONNREFUSED'), '127.77.200.1:50059'))
})

test('bind failures are one class, whichever listener: a failure to start (UNAVAILABLE, exit 1)', (t) => {
  const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })
  const udp = new AddressInUseError('127.77.200.1:23123', inUse)
  const grpc = cannotServe('gRPC', '127.77.200.1:50059', inUse)
  const http = cannotServe('', '127.77.200.1:8080', inUse)
  for (const e of [udp, grpc, http]) {
    t.true(e instanceof BindError)
    t.true(e instanceof UnavailableError)
    t.is(e.code, Code.UNAVAILABLE)
    t.is(e.errno, 'EADDRINUSE')
  }
  t.is(udp.message, 'address 127.77.200.1:23123 is already in use')
  t.is(grpc.message, 'cannot serve gRPC on 127.77.200.1:50059 (EADDRINUSE)')
  t.is(http.message, 'cannot serve on 127.77.200.1:8080 (EADDRINUSE)')
  t.is(http.address, '127.77.200.1:8080')
})
