'use strict'
// Smoke test of one prebuilt addon, run by a native or an emulated Node:
//   node scripts/cross/smoke.cjs <file.node> [--expect-abi x86_64] [--workers 4] [--python /usr/bin/python3]
// 1. loads the addon in the main thread and lists its exports;
// 2. if it has Probe.open: watches a native Python process (spawned here) and
//    checks the ABI the probe reports for it;
// 3. loads it in several worker_threads at once, each doing step 2 too.
// Ends with 'smoke: N passed, N failed' and exits non-zero on any failure.
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads')
const { spawn } = require('node:child_process')
const fs = require('node:fs')

async function exercise(file, pid, expectAbi) {
  const t0 = process.hrtime.bigint()
  const m = require(file)
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6
  const out = { exports: Object.keys(m).sort(), loadMs }
  if (pid && m.Probe && typeof m.Probe.open === 'function') {
    const probe = m.Probe.open(pid, { hz: 50 })
    try {
      await new Promise((r) => setTimeout(r, 600))
      const s = probe.snapshot()
      out.abi = s.abi
      out.tier = s.tier
      out.threads = s.threads.length
      out.abiOk = s.abi === expectAbi
    } finally {
      probe.close()
    }
  }
  return out
}

if (!isMainThread) {
  const { file, pid, expectAbi } = workerData
  exercise(file, pid, expectAbi).then(
    (r) => parentPort.postMessage({ ok: true, r }),
    (e) => parentPort.postMessage({ ok: false, error: String((e && e.stack) || e) }),
  )
} else {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}

async function main() {
  const argv = process.argv.slice(2)
  const opt = (name, dflt) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv.splice(i, 2)[1] : dflt
  }
  const expectAbi = opt('--expect-abi', 'x86_64')
  const workers = Number(opt('--workers', '4'))
  const python = opt('--python', fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
  const file = require('node:path').resolve(argv[0] || '')
  let passed = 0
  let failed = 0
  const check = (ok, what) => {
    console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`)
    ok ? passed++ : failed++
  }
  let glibc = '?'
  try {
    glibc = process.report.getReport().header.glibcVersionRuntime
  } catch {}
  console.log(`node ${process.version} ${process.platform}-${process.arch} glibc ${glibc}: ${file}`)

  // A native Python with a few threads: one spinning, others sleeping.
  const py = spawn(
    python,
    [
      '-c',
      'import threading,time\n' +
        'def spin():\n  while True: sum(range(1000))\n' +
        'def nap():\n  while True: time.sleep(0.01)\n' +
        'for f in (spin, nap, nap): threading.Thread(target=f, daemon=True).start()\n' +
        'time.sleep(120)\n',
    ],
    { stdio: 'ignore' },
  )
  await new Promise((r) => setTimeout(r, 300))
  try {
    let main
    try {
      main = await exercise(file, py.pid, expectAbi)
      check(true, `main thread load in ${main.loadMs.toFixed(0)} ms, exports: ${main.exports.join(', ') || '(none)'}`)
    } catch (e) {
      check(false, `main thread: ${(e && e.stack) || e}`)
    }
    if (main && main.abi !== undefined) {
      check(main.abiOk, `main thread probe of python pid ${py.pid}: abi ${main.abi} (want ${expectAbi}), tier ${main.tier}, ${main.threads} threads`)
    } else if (main) {
      console.log('SKIP probe: the binding has no Probe.open yet')
    }

    const t0 = Date.now()
    const results = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        new Promise((resolve) => {
          const w = new Worker(__filename, { workerData: { file, pid: py.pid, expectAbi } })
          w.once('message', (m) => resolve({ i, ...m }))
          w.once('error', (e) => resolve({ i, ok: false, error: String(e) }))
          w.once('exit', (code) => resolve({ i, ok: false, error: `exit ${code} before reporting` }))
        }),
      ),
    )
    const ms = Date.now() - t0
    for (const res of results) {
      if (!res.ok) {
        check(false, `worker ${res.i}: ${res.error}`)
        continue
      }
      const r = res.r
      const abiPart = r.abi === undefined ? '' : `, probe abi ${r.abi}`
      check(r.abi === undefined || r.abiOk, `worker ${res.i}: loaded in ${r.loadMs.toFixed(0)} ms${abiPart}`)
    }
    console.log(`${workers} workers at once: ${ms} ms`)
  } finally {
    py.kill('SIGKILL')
  }
  console.log(`smoke: ${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}
