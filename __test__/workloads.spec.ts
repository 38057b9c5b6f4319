import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import test from 'ava'

// The workloads' dependencies live in the project's venv (scripts/setup-python.sh); .ci/run makes it
// before the tests. Without it these tests are reported as skipped, not passed.
const VENV_PYTHON = path.join(__dirname, '..', '.venv', 'bin', 'python')
const withVenv = existsSync(VENV_PYTHON) ? test : test.skip

// Many fresh worker threads making their first call at once, as a new companion's pool does.
const FIRST_CALLS = `
import sys, threading
sys.path.insert(0, sys.argv[1])
from gilgauge_workloads import edge_ai
threads = int(sys.argv[2])
start = threading.Barrier(threads)
errors = []
def first_calls():
    start.wait()
    for call in (edge_ai.onnx_mobilenetv2_cpu, edge_ai.voice_cpu):
        try:
            call()
        except BaseException as e:
            errors.append("%s: %s" % (type(e).__name__, e))
workers = [threading.Thread(target=first_calls) for _ in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(len(errors), errors[:1])
`

withVenv(
  "32 threads' first calls at once in a fresh process: numpy's lazy submodules do not recurse",
  (t) => {
    // Before numpy.random and numpy.fft were imported under the import lock, 1–2 processes in 10
    // failed with RecursionError in numpy's module __getattr__.
    const python = path.join(__dirname, '..', 'python')
    const outcomes: string[] = []
    for (let i = 0; i < 10; i++) {
      const run = spawnSync(VENV_PYTHON, ['-c', FIRST_CALLS, python, '32'], {
        encoding: 'utf8',
        timeout: 60_000,
      })
      t.is(run.status, 0, run.stderr)
      outcomes.push(run.stdout.trim())
    }
    t.deepEqual(
      outcomes.filter((o) => o !== '0 []'),
      [],
    )
  },
)
