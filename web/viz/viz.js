// crux viz: draws every node's flock machine state at a moment of a journal, grouped and coloured by
// flock, leaders marked, and its strew machines (strew.js); scrub, step and play through time; click a
// node for why it is or is not leader; re-run a simulation with other settings or injected faults; or
// follow a beacon live.
// Plain browser JavaScript, no dependencies: the page must work with no network but the crux server.
'use strict'

const $ = (id) => document.getElementById(id)
const C = { T: 0, SEQ: 1, ROLE: 2, FLOCK: 3, LEADER: 4, MEMBERS: 5, RULE: 6, CAUSE: 7 }
let model = null // { original, shown, times, byId }
let now = 0
let selected = null
let playing = null

function hue(name) {
  let h = 0
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0
  return `hsl(${h % 360} 65% 38%)`
}

/** The last change of `node` at or before t (binary search), or null before its first. */
function at(node, t) {
  const cs = node.changes
  let lo = 0
  let hi = cs.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (cs[mid][C.T] <= t) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found < 0 ? null : found
}

function prepare(timeline) {
  const times = [...new Set([...timeline.nodes.flatMap((n) => n.changes.map((c) => c[C.T])), ...strewTimes(timeline)])].sort((a, b) => a - b)
  const byId = new Map(timeline.nodes.map((n) => [n.id, n]))
  return { timeline, times, byId }
}

function show(prepared) {
  model.shown = prepared
  const tl = prepared.timeline
  const slider = $('time')
  slider.min = String(tl.t0)
  slider.max = String(tl.t1)
  $('faults').textContent = tl.notes.length === 0 ? '' : 'faults: ' + tl.notes.map((n) => `${((n.t - tl.t0) / 1000).toFixed(1)} s ${JSON.parse(n.note).kind}`).join(', ')
  seek(tl.t1)
}

function seek(t) {
  const tl = model.shown.timeline
  now = Math.max(tl.t0, Math.min(tl.t1, t))
  $('time').value = String(now)
  render()
}

function render() {
  const tl = model.shown.timeline
  $('clock').textContent = `t = ${((now - tl.t0) / 1000).toFixed(3)} s`
  const flocks = new Map()
  for (const n of tl.nodes) {
    const i = at(n, now)
    if (i === null) continue
    const c = n.changes[i]
    if (c[C.ROLE] === 'left') continue
    const f = flocks.get(c[C.FLOCK]) ?? { name: c[C.FLOCK], nodes: [], leaders: new Set() }
    f.nodes.push({ n, c })
    if (c[C.LEADER] === n.id) f.leaders.add(n.id)
    flocks.set(c[C.FLOCK], f)
  }
  const box = $('flocks')
  box.textContent = ''
  const sorted = [...flocks.values()].sort((a, b) => b.nodes.length - a.nodes.length || a.name.localeCompare(b.name))
  for (const f of sorted) {
    const el = document.createElement('div')
    el.className = 'flock'
    el.dataset.flock = f.name
    el.dataset.nodes = String(f.nodes.length)
    el.style.setProperty('--c', hue(f.name))
    const h = document.createElement('h3')
    const leaders = [...f.leaders].map((id) => model.shown.byId.get(id)?.node ?? id)
    h.textContent = `${f.name} · ${f.nodes.length} node(s) · leader ${leaders.join(', ') || '?'}`
    el.append(h)
    const list = document.createElement('div')
    list.className = 'nodes'
    for (const { n, c } of f.nodes) {
      const chip = document.createElement('span')
      const steward = stewardActive(n, now)
      chip.className = 'node' + (c[C.LEADER] === n.id ? ' leader' : '') + (selected === n.node ? ' selected' : '') + (steward ? ' steward' : '')
      chip.dataset.node = n.node
      chip.dataset.role = c[C.ROLE]
      chip.textContent = n.node
      const role = document.createElement('small')
      role.textContent = c[C.ROLE] + (steward ? ' · ⚙ steward' : '')
      chip.append(role)
      chip.addEventListener('click', () => {
        selected = n.node
        render()
      })
      list.append(chip)
    }
    el.append(list)
    box.append(el)
  }
  document.body.dataset.flocks = String(sorted.length)
  renderStrew(tl, now, selected, (node) => {
    selected = node
    render()
  })
  renderPanel()
}

function renderPanel() {
  const panel = $('panel')
  if (selected === null) return
  const n = model.shown.timeline.nodes.find((x) => x.node === selected)
  if (n === undefined) return
  const i = at(n, now)
  panel.textContent = ''
  const title = document.createElement('h2')
  title.textContent = `${n.node} (${n.id})`
  panel.append(title)
  const why = document.createElement('p')
  why.id = 'why'
  if (i === null) why.textContent = `${n.node} has not started yet.`
  else {
    const c = n.changes[i]
    // The change that put it under its current leader in its current flock.
    let k = i
    while (k > 0 && n.changes[k - 1][C.LEADER] === c[C.LEADER] && n.changes[k - 1][C.FLOCK] === c[C.FLOCK]) k--
    const since = n.changes[k]
    const leaderName = model.shown.byId.get(c[C.LEADER])?.node ?? c[C.LEADER]
    why.textContent =
      c[C.LEADER] === n.id
        ? `${n.node} is leader of ${c[C.FLOCK]} (${c[C.MEMBERS]} node(s)) since seq ${since[C.SEQ]}: rule ${since[C.RULE]}, caused by ${since[C.CAUSE]}.`
        : `${n.node} is not leader: it follows ${leaderName} in ${c[C.FLOCK]} since seq ${since[C.SEQ]}: rule ${since[C.RULE]}, caused by ${since[C.CAUSE]}.`
  }
  panel.append(why)
  const h = document.createElement('h3')
  h.textContent = 'Recent transitions and their causes'
  panel.append(h)
  const ol = document.createElement('ol')
  const from = i === null ? 0 : Math.max(0, i - 19)
  for (let k = i === null ? -1 : i; k >= from; k--) {
    const c = n.changes[k]
    const li = document.createElement('li')
    li.innerHTML = ''
    li.append(`+${((c[C.T] - model.shown.timeline.t0) / 1000).toFixed(3)} s · ${c[C.ROLE]} in ${c[C.FLOCK]} · `)
    const rule = document.createElement('span')
    rule.className = 'rule'
    rule.textContent = c[C.RULE]
    li.append(rule, ` ← ${c[C.CAUSE]}`)
    ol.append(li)
  }
  panel.append(ol)
  strewPanel(panel, n, now, model.shown.timeline)
}

function step(dir) {
  const times = model.shown.times
  if (dir > 0) seek(times.find((x) => x > now) ?? model.shown.timeline.t1)
  else seek([...times].reverse().find((x) => x < now) ?? model.shown.timeline.t0)
}

function togglePlay() {
  if (playing !== null) {
    clearInterval(playing)
    playing = null
    $('play').textContent = '▶'
    return
  }
  $('play').textContent = '⏸'
  const tl = model.shown.timeline
  if (now >= tl.t1) seek(tl.t0)
  const stepMs = Math.max(1, (tl.t1 - tl.t0) / 300)
  playing = setInterval(() => {
    if (now >= tl.t1) return togglePlay()
    seek(now + stepMs)
  }, 50)
}

function whatIf(tl) {
  const form = $('whatif-form')
  $('whatif').hidden = false
  form.nodes.value = tl.nodes.length
  form.seed.value = Number.isInteger(tl.header.seed) ? tl.header.seed : 1
  form.hbMs.value = tl.header.config?.hbMs ?? 1000
  form.services.value = Number(tl.header.config?.services ?? 0)
  for (const k of ['probeEveryHb', 'memberLapseHb', 'pruneEveryHb']) form[k].placeholder = 'default'
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault()
    const num = (k) => (form[k].value === '' ? undefined : Number(form[k].value))
    const body = { nodes: num('nodes'), seed: num('seed'), hbMs: num('hbMs'), untilHb: num('untilHb'), loss: num('loss') }
    if (num('partAt') !== undefined) body.partition = { atHb: num('partAt'), groups: num('partGroups') ?? 2, healHb: num('partHeal') }
    if (num('crashAt') !== undefined) body.crash = { atHb: num('crashAt'), fraction: num('crashFraction') }
    if (num('crashLeaderAt') !== undefined) body.crashLeaderAtHb = num('crashLeaderAt')
    if (num('crashMemberAt') !== undefined) body.crashMemberAtHb = num('crashMemberAt')
    if (num('services') !== undefined) body.services = num('services')
    if (num('dropAt') !== undefined) body.dropLink = { atHb: num('dropAt'), a: num('dropA'), b: num('dropB'), healHb: num('dropHeal') }
    for (const k of ['probeEveryHb', 'memberLapseHb', 'pruneEveryHb']) if (num(k) !== undefined) body[k] = num(k)
    $('summary').textContent = 'running…'
    const r = await fetch('/api/sim', { method: 'POST', body: JSON.stringify(body) })
    const out = await r.json()
    if (!r.ok) {
      $('summary').textContent = `what-if refused: ${out.error}`
      return
    }
    const s = out.summary
    $('compare').innerHTML = '<tr><th></th><th>agreed at HB</th><th>flocks</th><th>leaders</th><th>packets</th><th>strew violations</th></tr>'
    const row = (name, x) => {
      const tr = document.createElement('tr')
      for (const v of [name, x.agreed_hb ?? '—', x.flocks ?? '—', x.leaders ?? '—', x.packets ?? '—', x.strew?.violations.length ?? '—']) {
        const td = document.createElement('td')
        td.textContent = String(v)
        tr.append(td)
      }
      $('compare').append(tr)
    }
    row('what-if', s)
    $('summary').textContent = `what-if: ${s.agreed ? `agreed at HB ${s.agreed_hb}` : 'did not agree'}`
    $('show-original').hidden = false
    show(prepare(out.timeline))
  })
  $('show-original').addEventListener('click', () => show(model.original))
}

function live() {
  $('source').textContent = 'live, from the beacon and the nodes'
  const es = new EventSource('/api/live')
  es.onmessage = (ev) => {
    renderLive(JSON.parse(ev.data))
    if (selected !== null) explainLive(selected)
  }
}

/** The live view: every flock the analyser judges or a node names, with each of its nodes. */
function renderLive(view) {
  const box = $('flocks')
  box.textContent = ''
  for (const f of view.flocks) {
    const el = document.createElement('div')
    el.className = 'flock'
    el.dataset.flock = f.flock
    el.dataset.nodes = String(f.nodes)
    el.style.setProperty('--c', hue(f.flock))
    const h = document.createElement('h3')
    h.textContent = `${f.flock} · ${f.nodes} node(s) · leader ${f.leader} · ${f.reported ? (f.stable ? 'stable' : 'settling') : 'no leader reports it'}`
    el.append(h)
    const list = document.createElement('div')
    list.className = 'nodes'
    for (const m of f.members) {
      const chip = document.createElement('span')
      chip.className = 'node' + (m.leader === m.id ? ' leader' : '') + (selected === m.id ? ' selected' : '')
      chip.dataset.node = m.id
      chip.dataset.role = m.role
      chip.dataset.addr = m.addr
      chip.title = `where it stands comes from ${m.source === 'node' ? 'its own answer' : m.source === 'leader list' ? "its leader's member list" : 'its last MonInfo record'}`
      chip.textContent = m.id
      const role = document.createElement('small')
      role.textContent = `${m.role} · ${m.addr || 'address unknown'}`
      chip.append(role)
      chip.addEventListener('click', () => {
        selected = m.id
        for (const c of document.querySelectorAll('.node')) c.classList.toggle('selected', c.dataset.node === m.id)
        explainLive(m.id)
      })
      list.append(chip)
    }
    el.append(list)
    box.append(el)
  }
  document.body.dataset.flocks = String(view.flocks.length)
  $('clock').textContent = new Date(view.at).toISOString().slice(11, 23)
}

/** Why live node `id` is or is not leader, as the server's analyser explains it. */
async function explainLive(id) {
  const r = await fetch('/api/live/node?id=' + encodeURIComponent(id))
  const out = await r.json()
  if (selected !== id) return
  const panel = $('panel')
  panel.textContent = ''
  const title = document.createElement('h2')
  title.textContent = out.addr ? `${id} (${out.addr})` : id
  const why = document.createElement('p')
  why.id = 'why'
  why.textContent = r.ok ? out.answer : out.error
  panel.append(title, why)
  if (!r.ok) return
  const basis = document.createElement('p')
  basis.id = 'basis'
  basis.className = 'basis'
  basis.textContent = out.basis
  const h = document.createElement('h3')
  h.textContent = 'Records from it that changed where it stands, and their rules'
  const ol = document.createElement('ol')
  for (const x of out.history) {
    const li = document.createElement('li')
    li.textContent = `${new Date(x.at).toISOString().slice(11, 23)} · ${x.what}`
    ol.append(li)
  }
  if (out.history.length === 0) ol.append('none since the visualiser began listening')
  panel.append(basis, h, ol)
}

async function main() {
  const tl = await (await fetch('/api/timeline')).json()
  for (const id of ['back', 'play', 'fwd', 'time']) $(id).disabled = tl === null
  if (tl === null) {
    live()
    document.body.dataset.ready = '1'
    return
  }
  model = { original: prepare(tl), shown: null }
  $('source').textContent = tl.header.node === null ? `simulator trace, seed ${tl.header.seed}` : `journal of ${tl.header.node}`
  $('summary').textContent = `${tl.nodes.length} node(s), ${tl.steps} steps${tl.diverged ? `, DIVERGED at seq ${tl.diverged.seq}` : ''}`
  $('time').addEventListener('input', (ev) => seek(Number(ev.target.value)))
  $('back').addEventListener('click', () => step(-1))
  $('fwd').addEventListener('click', () => step(1))
  $('play').addEventListener('click', togglePlay)
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement && ev.target.type !== 'range') return
    if (ev.key === 'ArrowRight') step(1)
    else if (ev.key === 'ArrowLeft') step(-1)
    else if (ev.key === ' ') togglePlay()
    else return
    ev.preventDefault()
  })
  show(model.original)
  if (tl.header.node === null) whatIf(tl)
  document.body.dataset.ready = '1'
}

main().catch((err) => {
  document.body.dataset.error = String(err)
  $('summary').textContent = `error: ${err}`
})
