#!/usr/bin/env python3
"""tolcmp.py MODEL CPU.csv DEV.csv CPU_DESIGN.csv [MAX_NORM]

Device vs CPU predictions (CSV, one value per row after a header), the
measures of docs/tolerance.md:
  ulp   max distance in float64 units in the last place (0 = bit-identical)
  rel   max |dev - cpu| / |cpu| over rows with cpu != 0
  norm  max |dev - cpu| / S, S = sum over terms of |coef * term value| (from the
        CPU design matrix): the error relative to the magnitude being summed
NaN must be NaN on both sides. Prints one line; exits 1 on a NaN mismatch or
when norm > MAX_NORM (if given)."""
import json
import math
import struct
import sys


def ordered(x):
    i = struct.unpack('<q', struct.pack('<d', x))[0]
    return i if i >= 0 else -(i & 0x7fffffffffffffff)


def col(path):
    with open(path) as fh:
        next(fh)
        return [[float(v) for v in line.rstrip('\n').split(',') if v != ''] for line in fh]


model, cpu, dev, design = sys.argv[1:5]
max_norm = float(sys.argv[5]) if len(sys.argv) > 5 else None
coef = json.load(open(model))['coefficients']
c = [r[0] for r in col(cpu)]
d = [r[0] for r in col(dev)]
b = col(design)
if not (len(c) == len(d) == len(b)):
    sys.exit('row counts differ: cpu %d, device %d, design %d' % (len(c), len(d), len(b)))
ulp = rel = norm = 0.0
nan_bad = 0
for i, (x, y) in enumerate(zip(c, d)):
    if math.isnan(x) or math.isnan(y):
        nan_bad += math.isnan(x) != math.isnan(y)
        continue
    if math.isinf(x) or math.isinf(y):
        nan_bad += x != y
        continue
    ulp = max(ulp, abs(ordered(x) - ordered(y)))
    err = abs(x - y)
    if x != 0:
        rel = max(rel, err / abs(x))
    s = sum(abs(k * v) for k, v in zip(coef, b[i]) if not math.isnan(v))
    if err:
        norm = max(norm, err / s if s else math.inf)
print('rows %d nan_mismatch %d ulp %d rel %.3g norm %.3g' % (len(c), nan_bad, ulp, rel, norm))
if nan_bad or (max_norm is not None and norm > max_norm):
    sys.exit(1)
