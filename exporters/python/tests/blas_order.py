"""Does numpy's `B @ coef` sum the terms in column order, as ModelSpec does?

    python tests/blas_order.py [--expect-in-order]

pymars predicts with `B @ coef`, a BLAS dgemv. ModelSpec v1 (and mars-replay) sum
`acc = acc + coef[i] * B[:, i]` for i = 0, 1, ... from acc = 0.0, two roundings
per term. A reference BLAS (Debian's libblas3) does exactly that; an optimised one
(the OpenBLAS inside numpy's PyPI wheels) blocks the sum and may fuse multiply and
add, so pymars's own predictions then differ from any fixed-order sum in the last
bits. This prints how many of 20000 rows of a 40-term product differ, and the
largest gap in units of the last place. With --expect-in-order it exits 1 unless
none differ. numpy only.
"""
import sys

import numpy as np

rng = np.random.default_rng(20261203)
rows, terms = 20000, 40
B = rng.standard_normal((rows, terms)) * 10.0 ** rng.integers(-3, 4, (rows, terms))
B[:, 0] = 1.0
coef = rng.standard_normal(terms) * 10.0 ** rng.integers(-2, 3, terms)

got = B @ coef
acc = np.zeros(rows)
for i in range(terms):
    acc = acc + coef[i] * B[:, i]


def key(x):
    k = np.asarray(x, dtype="<f8").view("<i8")
    return np.where(k < 0, np.int64(-(2**63)) - k, k)


diff = np.abs(key(got) - key(acc))
n = int((diff != 0).sum())
try:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]  # numpy >= 1.26
except Exception:  # noqa: BLE001
    blas = "?"
print("numpy %s (BLAS %s): B @ coef differs from the column-order sum in %d of %d rows (max %d ULP)"
      % (np.__version__, blas, n, rows, int(diff.max())))
if "--expect-in-order" in sys.argv and n:
    print("numpy's BLAS does not sum in column order: pymars's predict cannot match mars-replay bit for bit here")
    sys.exit(1)
