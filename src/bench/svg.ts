/**
 * Hand-written SVG: throughput against pool size N (log axis) for one profile, one line per core count,
 * the region N ≥ 512 shaded (where the cliff is measured), each adaptive policy marked where it settled.
 */
import type { ProfileCoresResult } from './types.js'

const W = 720
const H = 420
const M = { left: 70, right: 170, top: 40, bottom: 50 }
const CORE_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728']
const POLICY_STYLE: Record<string, { fill: string; shape: 'circle' | 'triangle' | 'square' }> = {
  gauge: { fill: '#2ca02c', shape: 'circle' },
  paper: { fill: '#d62728', shape: 'triangle' },
  betapool: { fill: '#9467bd', shape: 'square' },
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const f = (x: number): string => x.toFixed(1)

function niceMax(x: number): number {
  if (x <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(x))
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p
  return 10 * p
}

function marker(shape: string, x: number, y: number, fill: string, stroke: string): string {
  const common = `fill="${fill}" stroke="${stroke}" stroke-width="2"`
  if (shape === 'circle') return `<circle cx="${f(x)}" cy="${f(y)}" r="6" ${common}/>`
  if (shape === 'square')
    return `<rect x="${f(x - 5.5)}" y="${f(y - 5.5)}" width="11" height="11" ${common}/>`
  return `<polygon points="${f(x)},${f(y - 7)} ${f(x + 7)},${f(y + 5)} ${f(x - 7)},${f(y + 5)}" ${common}/>`
}

export function chartSvg(profile: string, results: ProfileCoresResult[], sizes: number[]): string {
  const rows = results.filter((r) => r.profile === profile && !r.unavailable)
  const minN = Math.min(...sizes)
  const maxN = Math.max(...sizes, 2)
  const pw = W - M.left - M.right
  const ph = H - M.top - M.bottom
  const lx = (n: number) => M.left + (Math.log2(n / minN) / Math.log2(maxN / minN || 2)) * pw
  let top = 0
  for (const r of rows) {
    for (const p of r.sweep) top = Math.max(top, p.throughput?.max ?? 0)
    for (const a of r.adaptive) top = Math.max(top, a.throughput?.median ?? 0)
    top = Math.max(top, r.best?.throughput ?? 0)
  }
  const yMax = niceMax(top * 1.05)
  const ly = (t: number) => M.top + ph - (t / yMax) * ph
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(profile)}: throughput against static pool size N</text>`,
  )
  // Cliff region.
  if (maxN >= 512) {
    const x0 = lx(Math.max(512, minN))
    out.push(
      `<rect x="${f(x0)}" y="${M.top}" width="${f(M.left + pw - x0)}" height="${ph}" fill="#f3e5e5"/>`,
      `<text x="${f(x0 + 4)}" y="${M.top + 14}" fill="#a05050">N ≥ 512 (cliff)</text>`,
    )
  }
  // Axes and grid.
  for (let i = 0; i <= 5; i++) {
    const t = (yMax * i) / 5
    const y = ly(t)
    out.push(
      `<line x1="${M.left}" y1="${f(y)}" x2="${M.left + pw}" y2="${f(y)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${f(y + 4)}" text-anchor="end">${yMax >= 50 ? Math.round(t) : t.toFixed(1)}</text>`,
    )
  }
  for (const n of sizes) {
    const x = lx(n)
    out.push(
      `<line x1="${f(x)}" y1="${M.top + ph}" x2="${f(x)}" y2="${M.top + ph + 5}" stroke="#333"/>`,
      `<text x="${f(x)}" y="${M.top + ph + 18}" text-anchor="middle">${n}</text>`,
    )
  }
  out.push(
    `<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}" stroke="#333"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">pool size N (threads, log scale)</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">tasks per second</text>`,
  )
  // Lines per core count, with min–max whiskers and the best point.
  const legend: string[] = []
  rows.forEach((r, i) => {
    const color = CORE_COLORS[i % CORE_COLORS.length] as string
    const pts = r.sweep.filter((p) => p.throughput !== null)
    if (pts.length > 0) {
      const d = pts
        .map((p, j) => `${j ? 'L' : 'M'}${f(lx(p.n))},${f(ly(p.throughput?.median ?? 0))}`)
        .join(' ')
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
      for (const p of pts) {
        const x = lx(p.n)
        const t = p.throughput
        if (t && t.n > 1)
          out.push(
            `<line x1="${f(x)}" y1="${f(ly(t.min))}" x2="${f(x)}" y2="${f(ly(t.max))}" stroke="${color}"/>`,
          )
        out.push(`<circle cx="${f(x)}" cy="${f(ly(t?.median ?? 0))}" r="2.5" fill="${color}"/>`)
      }
    }
    const skipped = r.sweep.find((p) => p.skipped)
    if (skipped) {
      out.push(
        `<text x="${f(lx(skipped.n))}" y="${f(M.top + ph - 8 - 14 * i)}" text-anchor="middle" fill="${color}" font-size="11">N ≥ ${skipped.n} not run</text>`,
      )
    }
    if (r.best) {
      out.push(
        `<circle cx="${f(lx(r.best.n))}" cy="${f(ly(r.best.throughput))}" r="5" fill="none" stroke="${color}" stroke-width="1.5"/>`,
      )
    }
    for (const a of r.adaptive) {
      const style = POLICY_STYLE[a.policy]
      const size = a.finalSize?.median
      const t = a.throughput?.median
      if (!style || size === undefined || t === undefined) continue
      out.push(
        `<g><title>${esc(`${a.policy}, ${r.cores} core(s): settled at ${size}, ${t}/s`)}</title>`,
        marker(style.shape, lx(Math.max(minN, Math.min(maxN, size))), ly(t), style.fill, color),
        '</g>',
      )
    }
    legend.push(
      `<line x1="0" y1="${14 * legend.length}" x2="22" y2="${14 * legend.length}" stroke="${color}" stroke-width="2"/><text x="28" y="${14 * legend.length + 4}">static, ${r.cores} core${r.cores > 1 ? 's' : ''}</text>`,
    )
  })
  for (const [name, style] of Object.entries(POLICY_STYLE)) {
    const y = 14 * legend.length
    legend.push(
      `${marker(style.shape, 11, y, style.fill, '#555')}<text x="28" y="${y + 4}">${name} (settled)</text>`,
    )
  }
  legend.push(
    `<circle cx="11" cy="${14 * legend.length}" r="5" fill="none" stroke="#555" stroke-width="1.5"/><text x="28" y="${14 * legend.length + 4}">best static (confirmed)</text>`,
  )
  out.push(`<g transform="translate(${M.left + pw + 16} ${M.top + 10})">${legend.join('')}</g>`)
  out.push(
    `<text x="${M.left + pw + 16}" y="${M.top + 10 + 14 * legend.length + 10}" font-size="10" fill="#555">marker outline = core count</text>`,
  )
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
