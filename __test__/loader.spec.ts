import { execFileSync } from 'node:child_process'
import path from 'node:path'
import test from 'ava'

const ROOT = path.join(__dirname, '..')

/** Runs `code` in a fresh Node whose process.arch claims to be `arch`, loading the built package. */
function runAs(arch: string, code: string): string {
  const preload = `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} })`
  return execFileSync(process.execPath, ['-e', `${preload};${code}`], { cwd: ROOT, encoding: 'utf8' })
}

test('without a binary for the platform, using the probe throws EUNSUPPORTED naming it and what to do', (t) => {
  const out = runAs(
    'riscv64',
    `const g = require('./dist/index.js')
     try { g.ThreadMonitor.watch(process.pid) } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, typed: e instanceof g.UnsupportedError })) }`,
  )
  const result = JSON.parse(out) as { code: string; message: string; typed: boolean }
  t.is(result.code, 'EUNSUPPORTED')
  t.true(result.typed)
  t.regex(result.message, /linux-riscv64/)
  t.regex(result.message, /build from source with a Rust toolchain/)
})

test('importing the package never needs the binary; both entry points share one instance', (t) => {
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import * as esm from 'gilgauge'
       import { createRequire } from 'node:module'
       const cjs = createRequire(import.meta.url)('gilgauge')
       console.log(esm.ThreadMonitor === cjs.ThreadMonitor && esm.PythonBridge === cjs.PythonBridge)`,
    ],
    { cwd: ROOT, encoding: 'utf8' },
  )
  t.is(out.trim(), 'true')
})
