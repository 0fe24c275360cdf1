/**
 * The messages of a Put as the store wants them: the header first (checked), then the bytes as an
 * async iterable. A Put whose first message is not a header, a second header, or an offset without a
 * hash is INVALID_ARGUMENT. A call the client cancels (or whose connection breaks) ends the bytes with
 * an error, so the store keeps what arrived for a resume instead of waiting for bytes that never come.
 */
import type { ServerReadableStream } from '@grpc/grpc-js'
import type { PutHeader, PutRequest } from '../../protos/gen/crux/v1/pastiche.js'
import { CancelledError, InvalidArgumentError } from '../../runtime/errors.js'
import { parseHash } from './hash.js'

/** A Put's header, checked: `hash` null stores under whatever the bytes hash to. */
export interface PutStart {
  hash: string | null
  offset: number
  bytes: number
  pin: boolean
}

/** Reads the header of `call`, and gives the bytes after it. */
export async function openPut(call: ServerReadableStream<PutRequest, unknown>): Promise<{ start: PutStart; bytes: AsyncIterable<Uint8Array> }> {
  let broken: Error | undefined
  let wake: (() => void) | undefined
  const stop = (err: Error) => {
    broken ??= err
    wake?.()
  }
  call.once('cancelled', () => stop(new CancelledError('the upload was cancelled by its sender')))
  call.once('error', (err: Error) => stop(err))
  const it = call[Symbol.asyncIterator]() as AsyncIterator<PutRequest>
  /** The next message, or the reason there is none: whichever comes first. */
  const next = (): Promise<IteratorResult<PutRequest>> => {
    if (broken !== undefined) return Promise.reject(broken)
    return new Promise((resolve, reject) => {
      wake = () => reject(broken)
      it.next().then(resolve, reject).finally(() => (wake = undefined))
    })
  }
  const first = await next()
  if (first.done === true) throw new InvalidArgumentError('a Put needs a header as its first message; it sent nothing')
  if (first.value.part?.$case !== 'header') throw new InvalidArgumentError('a Put sent data before its header')
  const start = checkHeader(first.value.part.value)
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const m = await next()
      if (m.done === true) return
      if (m.value.part?.$case === 'header') throw new InvalidArgumentError('a Put sent a second header')
      if (m.value.part?.$case === 'data') yield m.value.part.value
    }
  }
  return { start, bytes: bytes() }
}

function checkHeader(h: PutHeader): PutStart {
  if (h.hash === '' && h.offset !== 0) throw new InvalidArgumentError(`a Put at offset ${h.offset} needs the blob's hash: only a write under a known hash can resume`)
  return { hash: h.hash === '' ? null : parseHash(h.hash), offset: h.offset, bytes: h.bytes, pin: h.pin }
}
