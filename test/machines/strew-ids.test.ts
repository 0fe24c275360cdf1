import test from 'ava'
import fc from 'fast-check'
import { formatKeyId, formatNetId, formatNodeId, IdFormatError, matchesKeyId, matchesNetId, netIdAddress, nodeIdPrefixOf, nodeOfNodeId, parseKeyId, parseNetId, parseNodeId } from '../../machines/strew/ids.js'

const FP = 'ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89'

test('a NodeID has exactly five fields and round-trips', (t) => {
  const p = parseNodeId('/flock/foobar/f4/Foo/Foo_1')
  t.deepEqual(p, { bloc: 'flock', horde: 'foobar', node: 'f4', service: 'Foo', api: 'Foo_1' })
  t.is(formatNodeId(p), '/flock/foobar/f4/Foo/Foo_1')
  t.throws(() => parseNodeId('/flock/foobar/f4/Foo'), { instanceOf: IdFormatError, message: /bloc\/horde\/node\/service\/api/ })
  t.throws(() => parseNodeId('/flock/foobar/f4/foo/Foo_1'), { message: /service "foo" must be empty, 'self', or an upper-case letter/ })
  t.throws(() => parseNodeId('flock/foobar/f4/Foo/Foo_1/'), { instanceOf: IdFormatError })
})

test('a NetID names an address; its address and round trip', (t) => {
  const p = parseNetId('/Pastiche1_0/node-7/net/127.77.0.1:5001')
  t.deepEqual(p, { rev: 'Pastiche1_0', principal: 'node-7', host: '127.77.0.1', port: 5001, query: false })
  t.is(netIdAddress(p), '127.77.0.1:5001')
  t.is(formatNetId(p), '/Pastiche1_0/node-7/net/127.77.0.1:5001')
  t.throws(() => parseNetId('/Pastiche1_0/node-7/net/127.77.0.1:0'), { message: /must be host:port/ })
  t.throws(() => parseNetId('/Pastiche1_0/node-7/keys/127.77.0.1:1'), { message: /a NetID is/ })
})

test('wildcards make a NetID or KeyID a query, which matches concrete ids field by field', (t) => {
  const q = parseNetId('/Pastiche1_0/*/net/*')
  t.true(q.query)
  t.is(formatNetId(q), '/Pastiche1_0/*/net/*')
  t.true(matchesNetId(q, parseNetId('/Pastiche1_0/a/net/h:1')))
  t.false(matchesNetId(q, parseNetId('/Dean1_0/a/net/h:1')))
  const k = parseKeyId('//n1/keys/')
  t.true(k.query)
  t.is(formatKeyId(k), '/*/n1/keys/*')
  t.true(matchesKeyId(k, parseKeyId(`/Reeve1_0/n1/keys/${FP}`)))
  t.false(matchesKeyId(k, parseKeyId(`/Reeve1_0/n2/keys/${FP}`)))
})

test('a KeyID fingerprint is 16 bytes of colon hex', (t) => {
  t.is(formatKeyId(parseKeyId(`/self/self/keys/${FP}`)), `/self/self/keys/${FP}`)
  t.throws(() => parseKeyId('/Reeve1_0/n1/keys/ab:cd'), { message: /16 bytes in colon hex/ })
})

test('arbitrary strings never make a parser throw anything but IdFormatError', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (s) => {
      for (const parse of [parseNodeId, parseNetId, parseKeyId]) {
        try {
          parse(s)
        } catch (err) {
          if (!(err instanceof IdFormatError)) throw err
        }
      }
    }),
    { numRuns: 3000 },
  )
  t.pass()
})

test("a NodeID's prefix names another service of the same node; its node field is read leniently from a catalog", (t) => {
  t.is(nodeIdPrefixOf('/b/h/n1/Reeve/Reeve1'), '/b/h/n1')
  t.throws(() => nodeIdPrefixOf('/b/h'), { instanceOf: IdFormatError })
  t.is(nodeOfNodeId('/b/h/n1/Echo/Echo1'), 'n1')
  t.is(nodeOfNodeId('nonsense'), '')
})
