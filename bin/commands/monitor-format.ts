/** The text form of a status analyser judgement, one line (`crux watch`, `crux replay --moninfo`). */
import type { StatusView } from '../../machines/status/types.js'

export function formatStatus(view: StatusView): string {
  const time = new Date(view.at).toISOString().slice(11, 23)
  const flocks = view.flocks.map((f) => `${f.flock}: leader=${f.leader} nodes=${f.nodes} ${f.stable ? 'stable' : 'settling'} for ${((view.at - f.since) / 1000).toFixed(1)} s`)
  const reboots = view.rebooting.length === 0 ? '' : `  rebooting: ${view.rebooting.join(' ')}`
  return `${time}  ${flocks.length === 0 ? 'no flock heard' : flocks.join('  |  ')}${reboots}`
}
