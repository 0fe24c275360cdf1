import test from 'ava'
import {
  Code,
  codeName,
  CruxError,
  DatagramTooLargeError,
  InvalidArgumentError,
  JournalError,
  NotFoundError,
  ResourceExhaustedError,
  TransportClosedError,
  UnavailableError,
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
