import test from 'ava'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../../runtime/errors.js'
import { parseProbeSpecs } from '../../../actors/flock/probe-spec.js'

const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0)

test('a CIDR is every host of the block, at the listen port', (t) => {
  const s = parseProbeSpecs(['127.77.0.0/29'], 23123)
  t.deepEqual(s.ranges, [{ kind: 'ipv4', base: ip('127.77.0.1'), count: 6, portFrom: 23123, portTo: 23123 }])
  t.deepEqual(s.seeds, [])
  t.is(s.density, 1)
})

test('a CIDR given with host bits set is taken as its block', (t) => {
  t.like(parseProbeSpecs(['10.1.2.77/24'], 1).ranges[0], { kind: 'ipv4', base: ip('10.1.2.1'), count: 254 })
})

test('HOST:PORT is a seed; HOST:PORT-PORT a range of ports', (t) => {
  const s = parseProbeSpecs(['seed.example:7000', '127.0.0.1:7000-7009'], 1)
  t.deepEqual(s.seeds, ['seed.example:7000'])
  t.deepEqual(s.ranges, [{ kind: 'ipv4', base: ip('127.0.0.1'), count: 1, portFrom: 7000, portTo: 7009 }])
})

test('@file: one spec a line, comments and blanks ignored', (t) => {
  const d = mkdtempSync(join(tmpdir(), 'crux-probe-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  writeFileSync(join(d, 'p'), '# peers\n127.77.0.0/30\n\n  a:1  # seed\n')
  const s = parseProbeSpecs([`@${join(d, 'p')}`], 5)
  t.deepEqual(s.seeds, ['a:1'])
  t.is(s.ranges.length, 1)
})

test('bad specs are refused with the spec named', (t) => {
  for (const [spec, msg] of [
    ['300.1.1.1/24', /is not an IPv4 address/],
    ['1.2.3.4/40', /prefix length must be 8–32/],
    ['h:70000', /port "70000" is not in 1–65535/],
    ['1.2.3.4:9-1', /port range runs backwards/],
    ['justahost', /expected CIDR, HOST:PORT/],
  ] as const) {
    t.throws(() => parseProbeSpecs([spec], 1), { instanceOf: InvalidArgumentError, message: msg }, spec)
  }
})
