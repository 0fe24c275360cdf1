import test from 'ava'
import { parseSelector, pick } from '../../machines/strew/selector.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'

const ep = (instance: string, over: Partial<CatalogEndpoint> = {}): CatalogEndpoint => ({
  nodeId: `/b/h1/${instance}/Pastiche/Pastiche1`, netId: '', horde: 'h1', api: 'Pastiche1', instance, address: `${instance}:1`, state: 'up', keyId: '', ...over,
})

test('the lexicographically greatest matching up instance wins', (t) => {
  const eps = [ep('a1'), ep('b2'), ep('b10'), ep('c9', { state: 'down' }), ep('z', { api: 'Dean1' })]
  t.is(pick(eps, { api: 'Pastiche1' })?.instance, 'b2')
  t.is(pick(eps, { api: 'Pastiche1', instance: 'a*' })?.instance, 'a1')
  t.is(pick(eps, { api: 'Dean1' })?.instance, 'z')
  t.is(pick(eps, { api: 'Nope1' }), undefined)
})

test('a rescan after failures skips the ones that failed, down to none', (t) => {
  const eps = [ep('a'), ep('b')]
  t.is(pick(eps, { api: 'Pastiche1' }, new Set([ep('b').nodeId]))?.instance, 'a')
  t.is(pick(eps, { api: 'Pastiche1' }, new Set([ep('a').nodeId, ep('b').nodeId])), undefined)
})

test('selectors parse as API or API/INSTANCE-PATTERN; pattern characters other than * are literal', (t) => {
  t.deepEqual(parseSelector('Pastiche1'), { api: 'Pastiche1' })
  t.deepEqual(parseSelector('Pastiche1/eu-*'), { api: 'Pastiche1', instance: 'eu-*' })
  t.is(pick([ep('a.b'), ep('axb')], { api: 'Pastiche1', instance: 'a.b' })?.instance, 'a.b')
})
