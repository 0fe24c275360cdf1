import test from 'ava'
import { grpcAddress, parseAddress, portAddress, replyAddress } from '../../runtime/address.js'

test('each form of address parses to its kind', (t) => {
  t.deepEqual(parseAddress('n0123456789abcdef/steward'), { kind: 'local', actor: 'n0123456789abcdef/steward' })
  t.deepEqual(parseAddress('grpc://127.0.0.1:50059/steward'), { kind: 'grpc', hostPort: '127.0.0.1:50059', name: 'steward' })
  t.deepEqual(parseAddress('grpc://[::1]:5/reeve'), { kind: 'grpc', hostPort: '[::1]:5', name: 'reeve' })
  t.deepEqual(parseAddress('grpc://node-1.example:443/registry'), { kind: 'grpc', hostPort: 'node-1.example:443', name: 'registry' })
  t.deepEqual(parseAddress('reply:17'), { kind: 'reply', id: 17 })
  t.deepEqual(parseAddress('port:health'), { kind: 'port', name: 'health' })
  t.deepEqual(parseAddress('10.0.0.1:7000'), { kind: 'udp', hostPort: '10.0.0.1:7000' })
  t.deepEqual(parseAddress('[fe80::1]:7000'), { kind: 'udp', hostPort: '[fe80::1]:7000' })
})

test('IPv6 hosts are canonical in lower case', (t) => {
  t.deepEqual(parseAddress('grpc://[FE80::A]:9/x'), { kind: 'grpc', hostPort: '[fe80::a]:9', name: 'x' })
  t.is(grpcAddress('[FE80::A]:9', 'x'), 'grpc://[fe80::a]:9/x')
})

test('anything malformed is no address', (t) => {
  for (const bad of [
    '',
    'steward',
    'grpc://127.0.0.1:50059',
    'grpc://127.0.0.1:50059/',
    'grpc://127.0.0.1/steward',
    'grpc://127.0.0.1:0/steward',
    'grpc://127.0.0.1:65536/steward',
    'grpc://127.0.0.1:050059/steward',
    'grpc://127.0.0.1:5005x/steward',
    'grpc://::1:5/steward',
    'grpc://[::1/steward',
    'grpc://[]:5/steward',
    'grpc://[zz::1]:5/steward',
    'grpc://h st:5/steward',
    'grpc://127.0.0.1:5/a/b',
    'grpc://127.0.0.1:5/-x',
    'reply:',
    'reply:0',
    'reply:01',
    'reply:-1',
    'reply:1.5',
    'reply:99999999999999999',
    'port:',
    'port:a b',
    'a/',
    '/b',
    'a/b/c',
    'a b/c',
    '::1:7000',
    '10.0.0.1:',
    '10.0.0.1:0',
    ':7000',
    'x'.repeat(2000),
  ]) {
    t.is(parseAddress(bad), undefined, bad.slice(0, 40))
  }
  t.is(parseAddress(5 as unknown as string), undefined)
})

test('the makers write what the parser reads', (t) => {
  t.deepEqual(parseAddress(grpcAddress('127.77.210.1:50051', 'steward')), { kind: 'grpc', hostPort: '127.77.210.1:50051', name: 'steward' })
  t.deepEqual(parseAddress(replyAddress(3)), { kind: 'reply', id: 3 })
  t.deepEqual(parseAddress(portAddress('health')), { kind: 'port', name: 'health' })
  t.throws(() => grpcAddress('127.0.0.1', 'x'))
  t.throws(() => grpcAddress('127.0.0.1:5', 'a/b'))
})
