#!/usr/bin/env python3
"""CPU path vs OpenCL path on the same model and data, in one run.

  bench/opencl_bench.py [--bin BUILD/cli/mars-replay] [--model M.json] [--rows N]
                        [--threads T] [--runs R] [--device opencl|opencl:P.D]
                        [--precision double|single] [--json OUT.json]

Generates seeded CSV data for the model with bench/gen_data.py (cached in
bench/build/data), then times, each as the median of --runs:
  parse    `check`: read, split, decode and validate every row (host only)
  cpu      `predict --device cpu`
  cold     `predict --device opencl` with an empty cache directory (one run:
           program built from source; XDG_CACHE_HOME also holds PoCL's own
           kernel cache, so that one is empty too)
  cached   `predict --device opencl` again (program binary from the cache)
  rebuilt  one run with our cache removed but the driver's own cache (PoCL's
           kcache) kept: what our cache adds on top of the driver's
and prints rows/s and where the device run's time goes (from --report's
"backend" object: setup incl. kernel build or cached load, host->device,
kernel, device->host, host waiting). Device times are OpenCL profiling
times summed over batches and workers; they overlap host parsing, so they do
not add up to the wall time. The outputs of all runs are compared: the double
path must be byte-identical to the CPU's (exit 3 if not).

On PoCL's CPU device no speed-up is expected (the same cores run the kernel
and the host threads, plus staging copies): this measures the overheads. No
GPU number is claimed unless measured on one (docs/accelerator.md).
"""
import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(binary, args, env, out, report):
    cmd = [binary] + args + ['--report', report, '-o', out]
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit('%s: exit %d: %s' % (' '.join(cmd), p.returncode, p.stderr.strip()))
    with open(report) as fh:
        return json.load(fh)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'cli', 'mars-replay'))
    ap.add_argument('--model', default=os.path.join(HERE, 'bench_model.json'))
    ap.add_argument('--rows', type=int, default=1000000)
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--device', default='opencl')
    ap.add_argument('--precision', default='double', choices=['double', 'single'])
    ap.add_argument('--json')
    a = ap.parse_args()
    if not os.access(a.bin, os.X_OK):
        sys.exit('no executable %s (meson setup build && ninja -C build, or --bin)' % a.bin)
    probe = json.loads(subprocess.run([a.bin, 'probe', '--json'], capture_output=True, text=True).stdout)
    if not probe.get('available'):
        sys.exit('no OpenCL device: %s' % probe.get('reason'))
    data_dir = os.path.join(HERE, 'build', 'data')
    os.makedirs(data_dir, exist_ok=True)
    data = os.path.join(data_dir, 'opencl_%s_%d.csv' % (os.path.basename(a.model).rsplit('.', 1)[0], a.rows))
    if not os.path.exists(data):
        subprocess.run([sys.executable, os.path.join(HERE, 'gen_data.py'), '--rows', str(a.rows),
                        '--model', a.model, '--out', data + '.tmp'], check=True)
        os.rename(data + '.tmp', data)

    with tempfile.TemporaryDirectory(prefix='mr-opencl-bench-') as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, 'cache'))
        base = ['-m', a.model, '--threads', str(a.threads), '-q']
        rep = os.path.join(tmp, 'r.json')

        def median(label, args, out):
            reps = [run(a.bin, args + [data], env, out, rep) for _ in range(a.runs)]
            return label, sorted(reps, key=lambda r: r['seconds'])[len(reps) // 2]

        dev = ['--device', a.device, '--precision', a.precision]
        legs = [median('parse', ['check'] + base, os.path.join(tmp, 'none'))]
        legs.append(median('cpu', ['predict'] + base, os.path.join(tmp, 'cpu.csv')))
        legs.append(('cold', run(a.bin, ['predict'] + base + dev + [data], env, os.path.join(tmp, 'cold.csv'), rep)))
        legs.append(median('cached', ['predict'] + base + dev, os.path.join(tmp, 'dev.csv')))
        # our cache removed, PoCL's own kernel cache (if any) kept: what our cache adds
        subprocess.run(['rm', '-rf', os.path.join(tmp, 'cache', 'mars-replay')], check=True)
        legs.append(('rebuilt', run(a.bin, ['predict'] + base + dev + [data], env, os.path.join(tmp, 'rebuilt.csv'), rep)))
        same = filecmp.cmp(os.path.join(tmp, 'cpu.csv'), os.path.join(tmp, 'dev.csv'), shallow=False) and \
            filecmp.cmp(os.path.join(tmp, 'cpu.csv'), os.path.join(tmp, 'cold.csv'), shallow=False)

    b = legs[3][1]['backend']
    print('model %s, %d rows, %d threads, device %s (%s), precision %s, median of %d runs' %
          (os.path.basename(a.model), a.rows, a.threads, b.get('device', '?'), b.get('device_spec', '?'),
           a.precision, a.runs))
    print('%-8s %10s %12s %9s %9s %9s %9s %9s %9s' %
          ('leg', 'seconds', 'rows/s', 'setup', 'build', 'h->d', 'kernel', 'd->h', 'wait'))
    result = {'model': a.model, 'rows': a.rows, 'threads': a.threads, 'precision': a.precision,
              'device': b.get('device'), 'platform': b.get('platform'), 'identical_to_cpu': same, 'legs': {}}
    for label, r in legs:
        bk = r.get('backend', {})
        cols = [bk.get(k) for k in ('setup_seconds', 'kernel_build_seconds', 'write_seconds',
                                    'kernel_seconds', 'read_seconds', 'wait_seconds')]
        print('%-8s %10.3f %12.0f ' % (label, r['seconds'], r['rows_in'] / r['seconds'] if r['seconds'] else 0) +
              ' '.join('%9s' % ('-' if c is None else '%.3f' % c) for c in cols) +
              ('  (kernel from cache)' if bk.get('kernel_cached') else ''))
        result['legs'][label] = {'seconds': r['seconds'], 'rows_per_second': r['rows_in'] / r['seconds'],
                                 'backend': bk}
    print('device output identical to the CPU output: %s' % ('yes' if same else 'NO'))
    if a.json:
        with open(a.json, 'w') as fh:
            json.dump(result, fh, indent=2)
    if a.precision == 'double' and not same:
        sys.exit(3)


if __name__ == '__main__':
    main()
