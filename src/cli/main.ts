#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { GilgaugeError } from '../errors.js'
import { parseDuration, parsePositiveInt } from './args.js'
import { demo } from './demo.js'
import { profile } from './profile.js'

const USAGE = `usage: gilgauge <command> [options]

commands:
  profile --pid PID [options]        watch a running Python process
  profile [options] -- COMMAND…      start COMMAND, then watch it
  bench [options]                    static sweep vs the gauge, paper and betapool policies and Python peers
  demo [--python PATH] [--cpus 0]    the adaptive pool on a workload that changes phase (~30 s)

profile options:
  --json                one JSON window per line (NDJSON) on stdout
  --duration D          stop after D (e.g. 10s, 2m); default: until the target exits or Ctrl-C
  --interval D          window length (default 1s)
  --hz N                sampling rate per thread (default 200)
  --plain               plain lines even on a terminal

bench options:
  --profiles a,b        profiles (default: all 13)      --cores 1,2     core counts (default 1,2)
  --repeats N           runs per policy and peer (1)    --sweep-repeats N  passes of the static sweep (1)
  --policy-seconds S    length of each policy run (20)  --quick         2 profiles, 1 core, short (smoke test)
  --out DIR             result directory                --python PATH   (default <package>/.venv/bin/python)
  --render DIR          only re-write DIR's bench.md and charts from its bench.json and decisions.json
  --combine A,B --out C  passes A and B side by side: per pair each pass's efficiencies and their medians
  --merge A,B --out C    one result of the pairs A and B measured apart (a pair A measured is taken from A)
  --variant k=v,…       also run gauge with these options (e.g. fillRetriesOneCore=0) beside it, as 'gauge-variant'

  --version             print the version
  --help                this text
`

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string
  }
  return pkg.version
}

async function main(argv: string[]): Promise<number> {
  const dashDash = argv.indexOf('--')
  const own = dashDash >= 0 ? argv.slice(0, dashDash) : argv
  const command = dashDash >= 0 ? argv.slice(dashDash + 1) : undefined
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      pid: { type: 'string' },
      json: { type: 'boolean', default: false },
      duration: { type: 'string' },
      interval: { type: 'string', default: '1s' },
      hz: { type: 'string' },
      plain: { type: 'boolean', default: false },
      python: { type: 'string', default: 'python3' },
      cpus: { type: 'string' },
      version: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      profiles: { type: 'string' },
      cores: { type: 'string' },
      repeats: { type: 'string' },
      'sweep-repeats': { type: 'string' },
      'policy-seconds': { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      render: { type: 'string' },
      combine: { type: 'string' },
      merge: { type: 'string' },
      variant: { type: 'string' },
    },
  })
  if (values.version) {
    process.stdout.write(`${version()}\n`)
    return 0
  }
  const [sub] = positionals
  if (values.help || !sub) {
    process.stdout.write(USAGE)
    return values.help ? 0 : 2
  }
  switch (sub) {
    case 'profile':
      return profile({
        pid: values.pid === undefined ? undefined : parsePositiveInt(values.pid, '--pid'),
        command,
        json: values.json,
        durationMs: values.duration === undefined ? undefined : parseDuration(values.duration, '--duration'),
        intervalMs: parseDuration(values.interval, '--interval'),
        hz: values.hz === undefined ? undefined : Number(values.hz),
        live: values.plain ? false : undefined,
      })
    case 'demo':
      return demo({
        python: values.python,
        live: !values.plain && process.stdout.isTTY === true,
        cpus:
          values.cpus === undefined
            ? undefined
            : values.cpus.split(',').map((c) => parsePositiveInt(String(Number(c) + 1), '--cpus') - 1),
      })
    case 'bench': {
      const ints = (text: string | undefined, what: string) =>
        text === undefined ? undefined : text.split(',').map((x) => parsePositiveInt(x, what))
      return (await import('../bench/index.js')).bench({
        profiles: values.profiles?.split(','),
        cores: ints(values.cores, '--cores'),
        repeats: ints(values.repeats, '--repeats')?.[0],
        sweepRepeats: ints(values['sweep-repeats'], '--sweep-repeats')?.[0],
        policySeconds: ints(values['policy-seconds'], '--policy-seconds')?.[0],
        quick: values.quick,
        out: values.out,
        render: values.render,
        combine: values.combine?.split(','),
        merge: values.merge?.split(','),
        variant: values.variant,
        // --python defaults to python3 for demo; bench defaults to the package's .venv.
        python: own.some((a) => a === '--python' || a.startsWith('--python=')) ? values.python : undefined,
        command: `npx gilgauge ${own.join(' ')}`,
      })
    }
    default:
      process.stderr.write(`gilgauge: unknown command '${sub}'\n\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    if (err instanceof GilgaugeError) {
      process.stderr.write(`gilgauge: ${err.message} [${err.code}]\n`)
    } else if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`gilgauge: ${err.message}\n\n${USAGE}`)
    } else {
      process.stderr.write(`gilgauge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    }
    process.exitCode = err instanceof GilgaugeError && err.code === 'EINVAL' ? 2 : 1
  },
)
