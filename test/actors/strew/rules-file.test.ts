/** The steward's rules file: a JSON list checked whole, each bad entry named. */
import test from 'ava'
import { parseRules } from '../../../actors/strew/rules-file.js'

test('a list of {horde, from, to} is taken as it is', (t) => {
  t.deepEqual(parseRules('[{"horde":"*","from":"Web","to":"Db"},{"horde":"blue","from":"Db","to":"Db"}]'), [
    { horde: '*', from: 'Web', to: 'Db' },
    { horde: 'blue', from: 'Db', to: 'Db' },
  ])
})

test('bad files are refused with the entry and field named', (t) => {
  t.throws(() => parseRules('{'), { message: 'rules is not JSON' })
  t.throws(() => parseRules('{}'), { message: /must be a JSON list/ })
  t.throws(() => parseRules('[{"horde":"*","from":"Web"}]'), { message: /rules\[0\] must be \{"horde","from","to"\}/ })
  t.throws(() => parseRules('[{"horde":"a b","from":"Web","to":"Db"}]'), { message: /rules\[0\]\.horde "a b"/ })
  t.throws(() => parseRules('[{"horde":"*","from":"Web","to":"Db"},{"horde":"*","from":"web","to":"Db"}]'), { message: /rules\[1\]\.from "web" must be a service name/ })
})
