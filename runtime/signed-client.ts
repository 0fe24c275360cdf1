/**
 * A gRPC client whose every call is signed (runtime/call-signature.ts), without an interceptor: the
 * request is serialised once, the signature made over those bytes, and the bytes handed to grpc-js
 * as they are. An interceptor has to hold the call's start until the message is known and serialise
 * it twice; on this path a signed call costs the signature and nothing else beside the call.
 */
import * as grpc from '@grpc/grpc-js'
import { CALL_HEADERS, signCall, signCallAsync, type CallSignature } from './call-signature.js'
import { remoteError } from './errors.js'

/** Who signs: a KeyID on the server's whitelist and its secret key. */
export interface CallSigner {
  key: string
  secretKey: Uint8Array
  now(): number
}

/** The parts of a generated method definition a call needs. */
export interface MethodDef<Req, Res> {
  path: string
  requestSerialize(value: Req): Buffer
  responseDeserialize(value: Buffer): Res
}

export interface SignedClient {
  /** A unary call; a failure is a CruxError carrying the gRPC status as its code. */
  unary<Req, Res>(def: MethodDef<Req, Res>, req: Req, deadlineMs?: number): Promise<Res>
  /** A server-streaming call. */
  stream<Req, Res>(def: MethodDef<Req, Res>, req: Req): grpc.ClientReadableStream<Res>
  close(): void
}

const passThrough = (b: Buffer): Buffer => b

/** `createSignedClient(address, signer, { timeoutMs, describe })`: `describe` prefixes error messages. */
export function createSignedClient(address: string, signer: CallSigner, init: { timeoutMs?: number; describe?: string } = {}): SignedClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure())
  const timeoutMs = init.timeoutMs ?? 10_000
  const describe = init.describe ?? address
  let inflight = 0
  const metadata = (sig: CallSignature): grpc.Metadata => {
    const md = new grpc.Metadata()
    md.set(CALL_HEADERS.key, sig.key)
    md.set(CALL_HEADERS.time, sig.time)
    md.set(CALL_HEADERS.nonce, sig.nonce)
    md.set(CALL_HEADERS.signature, sig.signature)
    return md
  }
  const signed = (path: string, body: Buffer): grpc.Metadata => metadata(signCall({ key: signer.key, secretKey: signer.secretKey, method: path, body, nowMs: signer.now() }))
  // With calls outstanding, sign on the thread pool: the main thread meanwhile reads their answers.
  const signedAsync = async (path: string, body: Buffer): Promise<grpc.Metadata> => metadata(await signCallAsync({ key: signer.key, secretKey: signer.secretKey, method: path, body, nowMs: signer.now() }))
  return {
    unary<Req, Res>(def: MethodDef<Req, Res>, req: Req, deadlineMs?: number): Promise<Res> {
      const body = def.requestSerialize(req)
      const deadline = Date.now() + (deadlineMs ?? timeoutMs)
      const send = (md: grpc.Metadata) =>
        new Promise<Res>((resolve, reject) => {
          client.makeUnaryRequest(def.path, passThrough, def.responseDeserialize, body, md, { deadline }, (err, res) => {
            inflight--
            // `details.grpc`: the server's own words, for callers that tell refusals apart.
            if (err) reject(remoteError(err.code, address, describe, err.details || err.message))
            else resolve(res!)
          })
        })
      return inflight++ === 0 ? send(signed(def.path, body)) : signedAsync(def.path, body).then(send, (err: unknown) => {
        inflight--
        throw err
      })
    },
    stream<Req, Res>(def: MethodDef<Req, Res>, req: Req): grpc.ClientReadableStream<Res> {
      const body = def.requestSerialize(req)
      return client.makeServerStreamRequest(def.path, passThrough, def.responseDeserialize, body, signed(def.path, body))
    },
    close: () => client.close(),
  }
}
