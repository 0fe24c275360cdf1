/**
 * The flock's inventory read from a catalog: musters parsed, an up service's address joined from its
 * own endpoint on the same node, a partial muster named for asking, down and foreign endpoints ignored.
 */
import test from 'ava'
import { inventoryOf } from '../../../actors/picket/inventory.js'
import { musterEndpoint } from '../../../machines/picket/muster.js'
import type { CatalogEndpoint } from '../../../machines/steward/types.js'

const H = `sha256:${'c'.repeat(64)}`
const muster = (node: string, tags: string[], state: 'up' | 'down' = 'up'): CatalogEndpoint => ({ ...musterEndpoint({ nodeIdPrefix: `/b/h/${node}`, horde: 'h' }, node, `127.0.0.1:${node === 'n1' ? 1 : 2}`), tags, state })
const service = (node: string, api: string, instance: string, address: string): CatalogEndpoint => ({ nodeId: `/b/h/${node}/Echo/${api}`, netId: `/${api}/${instance}/net/${address}`, horde: 'h', api, instance, address, state: 'up', keyId: '' })

test("every node's muster is listed; an up service's address is its own endpoint's on that node, not another node's", (t) => {
  const { services, partial } = inventoryOf([
    service('n2', 'Echo1', 'echo_1', '10.0.0.2:80'),
    service('n1', 'Echo1', 'echo_1', '10.0.0.1:80'),
    muster('n1', [`svc echo running 2 up 77 5 ${H}`, 'api echo Echo1 echo_1', `svc old stopped 0 down - - ${H}`]),
    muster('n2', [`svc echo starting 0 down 78 6 ${H}`, 'api echo Echo1 echo_1']),
  ])
  t.deepEqual(partial, [])
  t.deepEqual(services, [
    { node: 'n1', name: 'echo', hash: H, api: 'Echo1', instance: 'echo_1', state: 'running', pid: 77, restarts: 2, up: true, since: 5, address: '10.0.0.1:80', reason: null },
    { node: 'n1', name: 'old', hash: H, api: '', instance: '', state: 'stopped', pid: null, restarts: 0, up: false, since: null, address: null, reason: null },
    { node: 'n2', name: 'echo', hash: H, api: 'Echo1', instance: 'echo_1', state: 'starting', pid: 78, restarts: 0, up: false, since: 6, address: null, reason: null },
  ])
})

test('a partial muster is named for asking, its services not listed twice; a down muster is not listed', (t) => {
  const { services, partial } = inventoryOf([muster('n1', [`svc a running 0 up 1 1 ${H}`, 'partial']), muster('n2', [`svc b running 0 up 1 1 ${H}`], 'down')])
  t.deepEqual(services, [])
  t.deepEqual(partial, [{ node: 'n1', address: '127.0.0.1:1' }])
})
