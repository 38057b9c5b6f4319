import { CLASSES, type Shares, type WaitClass, type Window } from '../model/types.js'

/** One letter and one ANSI colour per class, in CLASSES order. */
const STYLE: Record<WaitClass, { letter: string; color: number; label: string }> = {
  cpu: { letter: 'C', color: 32, label: 'cpu' },
  runq: { letter: 'R', color: 33, label: 'runq' },
  gil: { letter: 'G', color: 31, label: 'gil' },
  lock: { letter: 'L', color: 35, label: 'lock' },
  io: { letter: 'I', color: 34, label: 'io' },
  sleep: { letter: 'S', color: 36, label: 'sleep' },
  other: { letter: '.', color: 90, label: 'other' },
}

const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`

/**
 * A bar of `width` cells split by the shares; largest-remainder rounding so
 * the cells always add up to `width`.
 */
export function stackedBar(shares: Shares, width: number, color: boolean): string {
  const exact = CLASSES.map((c) => shares[c] * width)
  const cells = exact.map(Math.floor)
  let left = width - cells.reduce((a, b) => a + b, 0)
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r)
  const total = exact.reduce((a, b) => a + b, 0)
  for (const { i } of byRemainder) {
    if (left <= 0 || total === 0) break
    cells[i] = (cells[i] as number) + 1
    left--
  }
  return CLASSES.map((c, i) => {
    const n = cells[i] as number
    if (n === 0) return ''
    const { letter, color: code } = STYLE[c]
    return color ? `\x1b[${code}m${'█'.repeat(n)}\x1b[0m` : letter.repeat(n)
  }).join('')
}

function legend(shares: Shares, color: boolean): string {
  return CLASSES.map((c) => {
    const { letter, color: code, label } = STYLE[c]
    const key = color ? `\x1b[${code}m█\x1b[0m` : letter
    return `${key}${label} ${(shares[c] * 100).toFixed(0)}%`
  }).join(' ')
}

export interface ViewContext {
  elapsedMs: number
  /** Extra lines (e.g. the profiled command's last output lines). */
  footer?: string[]
  width?: number
}

/** The live view of one window: fits `width` (default 80) columns. */
export function renderView(w: Window, ctx: ViewContext, color: boolean): string[] {
  const width = ctx.width ?? 80
  const t = w.total
  const lines: string[] = []
  const gilNote = w.gilRange ? 'GIL range found' : 'no GIL range'
  lines.push(
    `gilgauge  pid ${w.pid}  ${(ctx.elapsedMs / 1000).toFixed(0)}s  tier ${w.tier}  ${w.abi}  ${gilNote}`.slice(
      0,
      width,
    ),
  )
  lines.push(
    `threads ${w.threads.length} (busy ${t.busyThreads})  samples ${w.samples}  probe cpu ${pct(w.probeCpuShare).trim()}`.slice(
      0,
      width,
    ),
  )
  lines.push(`[${stackedBar(t.shares, width - 2, color)}]`)
  const legendText = legend(t.shares, color)
  lines.push(legendText)
  lines.push(
    `β paper ${t.betaPaper.toFixed(2)}   β io ${t.betaIo.toFixed(2)}   gil sat ${t.gilSaturation.toFixed(2)}   gil held ${t.gilHeld === null ? '—' : t.gilHeld.toFixed(2)}   runq ${t.runqShare.toFixed(2)}`.slice(
      0,
      width,
    ),
  )
  if (w.tierReason) lines.push(`note: ${w.tierReason}`.slice(0, width))
  lines.push('')
  lines.push('   tid  name             wall     cpu  runq   gil  lock    io sleep other')
  for (const th of w.threads.slice(0, 8)) {
    const s = th.shares
    const cols = CLASSES.map((c) => (s[c] * 100).toFixed(0).padStart(5)).join(' ')
    lines.push(
      `${String(th.tid).padStart(6)}  ${th.name.slice(0, 15).padEnd(15)} ${(th.wallNs / 1e9).toFixed(2).padStart(5)}s ${cols}`.slice(
        0,
        width,
      ),
    )
  }
  if (w.threads.length > 8) lines.push(`  … ${w.threads.length - 8} more threads`)
  for (const line of ctx.footer ?? []) lines.push(line.slice(0, width))
  return lines
}

/** One line per window for logs and pipes (no TTY). */
export function renderPlain(w: Window, elapsedMs: number): string {
  const t = w.total
  const parts = CLASSES.map((c) => `${c} ${pct(t.shares[c]).trim()}`)
  return `t=${(elapsedMs / 1000).toFixed(1)}s pid=${w.pid} tier=${w.tier} threads=${w.threads.length} samples=${w.samples} ${parts.join(' ')} betaPaper=${t.betaPaper.toFixed(3)} betaIo=${t.betaIo.toFixed(3)} gilSat=${t.gilSaturation.toFixed(3)} gilHeld=${t.gilHeld === null ? 'na' : t.gilHeld.toFixed(3)}${w.final ? ' final' : ''}`
}

/** A window as one JSON line (bigints as decimal strings). */
export function windowJson(w: Window): string {
  return JSON.stringify(w, (_key, value) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value))
}
