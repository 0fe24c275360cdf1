// crux viz, strew: each node's strew machines (follower, steward, reeve, heartbeater, registry) at the
// scrubbed moment, a row per node and a block in the selected node's panel; the node whose steward is
// active is marked. A classic script loaded before viz.js: it reads only the timeline's `strew` lists
// (actors/viz/strew-model.ts), each binary-searched by time like the flock's changes.
'use strict'

/** Column of each field in a change of each machine ([t, seq, …, cause]: an index into the timeline's strewCauses). */
const STREW_COL = {
  follower: { LEAD: 2, FOLLOW: 3, ADDR: 4, TERM: 5 },
  steward: { STATE: 2, TERM: 3, VERSION: 4, ENDPOINTS: 5, REEVES: 6 },
  reeve: { STATE: 2, VERSION: 3, SIZE: 4, LOCAL: 5 },
  heartbeater: { KEPT: 2, UP: 3 },
  registry: { STATE: 2, TERM: 3, KEYS: 4 },
}
const STREW_NAMES = ['follower', 'steward', 'reeve', 'heartbeater', 'registry']
const STREW_LEGEND = 'Strew machines at this moment, per node (click a row for its causes); terms are shown as the time they began; ⚙ marks a node whose steward is active.'

/** Index of the last change at or before t in `cs` (sorted by time), or -1. */
function lastAt(cs, t) {
  let lo = 0
  let hi = cs.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (cs[mid][0] <= t) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** Each strew machine's change in force at t ({ follower: […] | null, … }), or null for a node without strew. */
function strewAt(node, t) {
  if (!node.strew) return null
  const o = {}
  for (const name of STREW_NAMES) {
    const cs = node.strew[name]
    const i = cs === undefined ? -1 : lastAt(cs, t)
    o[name] = i < 0 ? null : cs[i]
  }
  return o
}

function stewardActive(node, t) {
  const s = strewAt(node, t)
  return s !== null && s.steward !== null && s.steward[STREW_COL.steward.STATE] === 'active'
}

/** Every moment a strew machine changed (for the step buttons). */
function strewTimes(timeline) {
  return timeline.nodes.flatMap((n) => (n.strew ? STREW_NAMES.flatMap((m) => (n.strew[m] ?? []).map((c) => c[0])) : []))
}

const termText = (term, t0) => `term of +${((term - t0) / 1000).toFixed(3)} s`

/** One machine's change in words; '—' before it started (or when the journal has none of it). */
function strewText(name, c, t0) {
  if (c === null) return '—'
  switch (name) {
    case 'follower': {
      const F = STREW_COL.follower
      const to = c[F.ADDR] === '' ? '' : ` → steward ${c[F.ADDR]}, ${termText(c[F.TERM], t0)}`
      return `${c[F.LEAD]} · ${c[F.FOLLOW]}${to}`
    }
    case 'steward': {
      const W = STREW_COL.steward
      // Idle, a steward holds nothing: its catalog is rebuilt when it next leads.
      if (c[W.STATE] !== 'active') return c[W.STATE]
      return `active, ${termText(c[W.TERM], t0)}, catalog v${c[W.VERSION]}, ${c[W.ENDPOINTS]} endpoint(s), ${c[W.REEVES]} reeve(s)`
    }
    case 'reeve': {
      const R = STREW_COL.reeve
      return `${c[R.STATE]}, catalog v${c[R.VERSION]} (${c[R.SIZE]}), ${c[R.LOCAL]} local`
    }
    case 'heartbeater':
      return `${c[STREW_COL.heartbeater.KEPT]} kept, ${c[STREW_COL.heartbeater.UP]} up`
    case 'registry': {
      const G = STREW_COL.registry
      return c[G.STATE] === 'active' ? `active, ${termText(c[G.TERM], t0)}, ${c[G.KEYS]} key(s)` : `${c[G.STATE]}, ${c[G.KEYS]} key(s)`
    }
  }
  return '?'
}

/** The table of every node's strew machines at `now`; hidden when the journal has no strew actor. */
function renderStrew(tl, now, selected, onSelect) {
  const box = document.getElementById('strew')
  const nodes = tl.nodes.filter((n) => n.strew)
  box.hidden = nodes.length === 0
  document.body.dataset.stewards = '0'
  if (nodes.length === 0) return
  document.getElementById('strew-legend').textContent = STREW_LEGEND
  const table = document.getElementById('strew-table')
  table.textContent = ''
  const head = document.createElement('tr')
  for (const h of ['node', ...STREW_NAMES]) {
    const th = document.createElement('th')
    th.textContent = h
    head.append(th)
  }
  table.append(head)
  let stewards = 0
  for (const n of nodes) {
    const s = strewAt(n, now)
    const tr = document.createElement('tr')
    tr.dataset.node = n.node
    const active = s.steward !== null && s.steward[STREW_COL.steward.STATE] === 'active'
    if (active) stewards++
    tr.className = (active ? 'steward' : '') + (selected === n.node ? ' selected' : '')
    const name = document.createElement('td')
    name.textContent = n.node
    tr.append(name)
    for (const m of STREW_NAMES) {
      const td = document.createElement('td')
      td.dataset.m = m
      if (s[m] !== null) td.dataset.state = typeof s[m][2] === 'string' ? s[m][2] : ''
      td.textContent = strewText(m, s[m], tl.t0)
      tr.append(td)
    }
    tr.addEventListener('click', () => onSelect(n.node))
    table.append(tr)
  }
  document.body.dataset.stewards = String(stewards)
}

/** The selected node's strew machines at `now` and their latest changes with what caused them, in `panel`. */
function strewPanel(panel, n, now, tl) {
  const t0 = tl.t0
  const s = strewAt(n, now)
  if (s === null) return
  const h = document.createElement('h3')
  h.textContent = 'Strew machines now'
  const dl = document.createElement('dl')
  dl.id = 'strew-now'
  for (const m of STREW_NAMES) {
    const dt = document.createElement('dt')
    dt.textContent = m
    const dd = document.createElement('dd')
    dd.dataset.m = m
    dd.textContent = strewText(m, s[m], t0)
    dl.append(dt, dd)
  }
  const h2 = document.createElement('h3')
  h2.textContent = 'Recent strew changes and their causes'
  const recent = STREW_NAMES.flatMap((m) => (n.strew[m] ?? []).filter((c) => c[0] <= now).map((c) => ({ m, c })))
  recent.sort((a, b) => b.c[1] - a.c[1])
  const ol = document.createElement('ol')
  ol.id = 'strew-recent'
  for (const { m, c } of recent.slice(0, 12)) {
    const li = document.createElement('li')
    li.textContent = `+${((c[0] - t0) / 1000).toFixed(3)} s · ${m}: ${strewText(m, c, t0)} ← ${tl.strewCauses[c[c.length - 1]]}`
    ol.append(li)
  }
  panel.append(h, dl, h2, ol)
}
