/**
 * What a fulcrum announces (issue 14): the advertise flag when given, the listen address when it is
 * not a wildcard, and for a wildcard the host's one announceable IPv4 address, or a refusal naming
 * the flag to pass. The interface list is injected.
 */
import test from 'ava'
import { announce, announceableAddresses, announceHost, canonicalIp, checkSameHost, isWildcard, type InterfaceList } from '../../../actors/fulcrum/advertise.js'
import { InvalidArgumentError } from '../../../runtime/errors.js'

const lo = [
  { address: '127.0.0.1', family: 'IPv4', internal: true },
  { address: '::1', family: 'IPv6', internal: true },
]
const v4 = (address: string) => ({ address, family: 'IPv4', internal: false })
const v6 = (address: string) => ({ address, family: 'IPv6', internal: false })
const host = (list: InterfaceList) => () => list

const wild = { listenFlag: '--listen', listen: { host: '0.0.0.0', port: 23123 }, advertiseFlag: '--advertise' }

test('wildcards are 0.0.0.0 and ::, nothing else', (t) => {
  for (const w of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '']) t.true(isWildcard(w), w)
  for (const a of ['127.0.0.1', '::1', '10.0.0.1', 'node-1.example', 'fe80::1']) t.false(isWildcard(a), a)
})

test('announceable: IPv4, not loopback, not link-local, not internal; each once, sorted', (t) => {
  const list: InterfaceList = {
    lo,
    eth0: [v4('192.0.2.2'), v6('fd00::2'), v6('fe80::1')],
    eth1: [v4('169.254.10.1'), v4('10.1.2.3')],
    docker0: [{ address: '172.17.0.1', family: 4, internal: false }],
    dup: [v4('10.1.2.3')],
    none: undefined,
  }
  t.deepEqual(announceableAddresses(list), ['10.1.2.3', '172.17.0.1', '192.0.2.2'])
})

test('a wildcard listen on a host with one address announces it, with the bound port', (t) => {
  const h = announceHost({ ...wild, interfaces: host({ lo, eth0: [v4('192.0.2.2'), v6('fe80::1')] }) })
  t.is(h, '192.0.2.2')
  t.is(announce(h, undefined, 40001), '192.0.2.2:40001')
})

test('a wildcard listen on a host with several addresses is refused, naming them and the flag', (t) => {
  const err = t.throws(() => announceHost({ ...wild, interfaces: host({ lo, eth0: [v4('192.0.2.2')], eth1: [v4('10.0.0.7')] }) }), { instanceOf: InvalidArgumentError })
  t.is(err?.message, '--listen 0.0.0.0:23123 needs --advertise HOST:PORT: this host has several addresses (10.0.0.7, 192.0.2.2)')
})

test('a wildcard listen on a host with only loopback and link-local is refused', (t) => {
  const err = t.throws(() => announceHost({ ...wild, listen: { host: '::', port: 50059 }, listenFlag: '--grpc', advertiseFlag: '--grpc-advertise', interfaces: host({ lo, eth0: [v4('169.254.1.1'), v6('fe80::1')] }) }))
  t.is(err?.message, '--grpc [::]:50059 needs --grpc-advertise HOST:PORT: this host has no address to announce (only loopback or link-local)')
})

test('an advertise flag wins over the listen address and the interfaces, port included', (t) => {
  const h = announceHost({ ...wild, advertise: { host: '203.0.113.9', port: 7000 }, interfaces: () => t.fail('interfaces read') as never })
  t.is(h, '203.0.113.9')
  t.is(announce(h, { port: 7000 }, 23123), '203.0.113.9:7000')
  t.is(announce('::1', { port: 7000 }, 1), '[::1]:7000')
})

test('an advertise address that is itself a wildcard is refused', (t) => {
  const err = t.throws(() => announceHost({ ...wild, advertise: { host: '0.0.0.0', port: 7000 } }))
  t.is(err?.message, '--advertise must be an address peers can reach, got 0.0.0.0:7000')
})

test('a specific listen address is announced as is; the interfaces are not read', (t) => {
  t.is(announceHost({ ...wild, listen: { host: '127.77.100.1', port: 1 }, interfaces: () => t.fail('interfaces read') as never }), '127.77.100.1')
})

test('a wildcard gRPC host follows the flock\'s announced host before picking', (t) => {
  const grpc = { listenFlag: '--grpc', listen: { host: '0.0.0.0', port: 50059 }, advertiseFlag: '--grpc-advertise', interfaces: host({ a: [v4('10.0.0.1')], b: [v4('10.0.0.2')] }) }
  t.is(announceHost({ ...grpc, otherwise: '203.0.113.9' }), '203.0.113.9')
  t.is(announceHost({ ...grpc, otherwise: '203.0.113.9', advertise: { host: '198.51.100.1', port: 9 } }), '198.51.100.1')
  t.throws(() => announceHost(grpc), { message: /several addresses \(10\.0\.0\.1, 10\.0\.0\.2\)/ })
})

test('the gRPC host announced must be the flock host announced (stewards call nodes back there)', (t) => {
  t.notThrows(() => checkSameHost('10.0.0.5', '10.0.0.5'))
  t.throws(() => checkSameHost('10.0.0.5', '10.0.0.6'), {
    instanceOf: InvalidArgumentError,
    message: 'the gRPC host announced, 10.0.0.6, is not the flock host announced, 10.0.0.5: stewards call a node back only at its flock host; serve or advertise gRPC there (--grpc-advertise 10.0.0.5:PORT)',
  })
})

test('an advertise address must be an IP (answers come from IPs), and is compared in the form sockets report', (t) => {
  t.throws(() => announceHost({ ...wild, advertise: { host: 'node1.example', port: 7000 } }), {
    instanceOf: InvalidArgumentError,
    message: '--advertise must be an IP address (peers match answers by the address they come from), got node1.example:7000',
  })
  t.is(announceHost({ ...wild, advertise: { host: 'FD00:0:0::2', port: 7000 } }), 'fd00::2')
  t.is(canonicalIp('10.0.0.1'), '10.0.0.1')
})
