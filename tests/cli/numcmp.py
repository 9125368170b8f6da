#!/usr/bin/env python3
"""Numeric comparisons for tests/cli (Python 3 stdlib only).

Values are compared bitwise (NaN == NaN whatever its sign or payload,
+0.0 != -0.0). Exit 0 when equal; otherwise print one line saying why, exit 1.

  numcmp.py csv GOT.csv WANT.csv
      values only: both files have a header line (names ignored, widths equal)
      and the same number of rows and columns
  numcmp.py npy GOT.npy WANT.csv
      GOT is a valid .npy (v1-v3, '<f8', C order) of shape (n,), (n,1) or
      (n,k) holding WANT's values row by row (WANT has a header line)
  numcmp.py f64 GOT.f64 WANT.csv
      raw little-endian float64, row-major, WANT's values
  numcmp.py keep GOT.csv INPUT.csv PRED.csv COL[,COL...]
      GOT (from --keep COLS) has header COLS + prediction; its kept fields
      equal INPUT's fields of those columns and its last field equals PRED's
  numcmp.py unknown-nan GOT.csv INPUT.csv EXPECTED.csv COLUMN CLASS[,CLASS...] [NA-TOKENS]
      GOT (from --unknown-level nan) is the text nan where INPUT's COLUMN holds a
      label that is neither a missing token nor a class, and EXPECTED's value
      elsewhere
  numcmp.py count-unknown INPUT.csv COLUMN CLASS[,CLASS...] [NA-TOKENS]
      print the number of unknown labels in COLUMN
"""
import ast
import csv
import math
import struct
import sys


def fail(msg):
    print(msg)
    sys.exit(1)


def num(text):
    t = text.strip()
    if t.lower() in ('nan', '-nan', '+nan'):
        return float('nan')
    return float(t)


def same(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    return struct.pack('<d', a) == struct.pack('<d', b)


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as fh:
        rows = list(csv.reader(fh))
    if not rows:
        fail('%s: empty (no header line)' % path)
    return rows[0], rows[1:]


def read_values(path):
    _, rows = read_csv(path)
    out = []
    for i, r in enumerate(rows, start=2):
        try:
            out.append([num(x) for x in r])
        except ValueError as exc:
            fail('%s:%d: %s' % (path, i, exc))
    return out


def compare_rows(got, want, what):
    if len(got) != len(want):
        fail('%s: %d rows, expected %d' % (what, len(got), len(want)))
    bad = 0
    first = None
    for i, (g, w) in enumerate(zip(got, want), start=1):
        if len(g) != len(w):
            fail('%s: row %d has %d values, expected %d' % (what, i, len(g), len(w)))
        for j, (a, b) in enumerate(zip(g, w)):
            if not same(a, b):
                bad += 1
                if first is None:
                    first = 'row %d col %d: got %r expected %r' % (i, j + 1, a, b)
    if bad:
        fail('%s: %d values differ; first at %s' % (what, bad, first))


def parse_npy(path):
    with open(path, 'rb') as fh:
        data = fh.read()
    if data[:6] != b'\x93NUMPY':
        fail('%s: no .npy magic' % path)
    major = data[6]
    if major == 1:
        hlen = struct.unpack('<H', data[8:10])[0]
        start = 10
    elif major in (2, 3):
        hlen = struct.unpack('<I', data[8:12])[0]
        start = 12
    else:
        fail('%s: unknown .npy version %d' % (path, major))
    if (start + hlen) % 64:
        fail('%s: data offset %d is not a multiple of 64' % (path, start + hlen))
    header = data[start:start + hlen].decode('latin1')
    if not header.endswith('\n'):
        fail('%s: header does not end with a newline' % path)
    try:
        d = ast.literal_eval(header.strip())
    except (ValueError, SyntaxError) as exc:
        fail('%s: bad header %r: %s' % (path, header, exc))
    if not isinstance(d, dict) or set(d) != {'descr', 'fortran_order', 'shape'}:
        fail('%s: bad header dict %r' % (path, header))
    if d['descr'] != '<f8' or d['fortran_order'] is not False:
        fail('%s: descr %r fortran_order %r, expected <f8 and False' % (path, d['descr'], d['fortran_order']))
    shape = d['shape']
    body = data[start + hlen:]
    count = 1
    for s in shape:
        count *= s
    if len(body) != 8 * count:
        fail('%s: %d data bytes for shape %r, expected %d' % (path, len(body), shape, 8 * count))
    return shape, list(struct.unpack('<%dd' % count, body))


def main(a):
    cmd = a[0]
    if cmd == 'csv':
        gh, _ = read_csv(a[1])
        wh, _ = read_csv(a[2])
        if len(gh) != len(wh):
            fail('%s: header has %d columns, %s has %d' % (a[1], len(gh), a[2], len(wh)))
        compare_rows(read_values(a[1]), read_values(a[2]), a[1])
    elif cmd == 'npy':
        shape, vals = parse_npy(a[1])
        want = read_values(a[2])
        n = len(want)
        k = len(want[0]) if want else 1
        ok = shape == (n, k) or (k == 1 and shape == (n,))
        if not ok:
            fail('%s: shape %r, expected (%d, %d)%s' % (a[1], shape, n, k, ' or (%d,)' % n if k == 1 else ''))
        got = [vals[i * k:(i + 1) * k] for i in range(n)]
        compare_rows(got, want, a[1])
    elif cmd == 'f64':
        with open(a[1], 'rb') as fh:
            data = fh.read()
        want = read_values(a[2])
        k = len(want[0]) if want else 1
        if len(data) != 8 * k * len(want):
            fail('%s: %d bytes, expected %d' % (a[1], len(data), 8 * k * len(want)))
        vals = struct.unpack('<%dd' % (len(data) // 8), data)
        compare_rows([list(vals[i * k:(i + 1) * k]) for i in range(len(want))], want, a[1])
    elif cmd == 'keep':
        cols = a[4].split(',')
        gh, grows = read_csv(a[1])
        ih, irows = read_csv(a[2])
        _, prows = read_csv(a[3])
        if gh != cols + ['prediction']:
            fail('%s: header %r, expected %r' % (a[1], gh, cols + ['prediction']))
        idx = [ih.index(c) for c in cols]
        if len(grows) != len(irows) or len(grows) != len(prows):
            fail('%s: %d rows, input has %d, predictions %d' % (a[1], len(grows), len(irows), len(prows)))
        for i, (g, r, p) in enumerate(zip(grows, irows, prows), start=1):
            want = [r[j] for j in idx] + [p[0]]
            if g != want:
                fail('%s: row %d is %r, expected %r' % (a[1], i, g, want))
    elif cmd == 'unknown-nan':
        _, got = read_csv(a[1])
        ih, irows = read_csv(a[2])
        _, exp = read_csv(a[3])
        col = ih.index(a[4])
        classes = set(a[5].split(','))
        na = set((a[6] if len(a) > 6 else ',NA,NaN,nan').split(','))
        if len(got) != len(irows) or len(exp) != len(irows):
            fail('%s: %d rows, expected %d' % (a[1], len(got), len(irows)))
        n_unknown = 0
        for i, (g, r, e) in enumerate(zip(got, irows, exp), start=1):
            label = r[col]
            unknown = label not in na and label not in classes
            n_unknown += unknown
            want = float('nan') if unknown else num(e[0])
            if unknown and g[0] != 'nan':
                fail('%s: row %d (%s=%r): got %r, expected the text nan' % (a[1], i, a[4], label, g[0]))
            if not same(num(g[0]), want):
                fail('%s: row %d (%s=%r): got %s, expected %r' % (a[1], i, a[4], label, g[0], want))
        if n_unknown == 0:
            fail('%s: no unknown labels in column %s: the test proves nothing' % (a[2], a[4]))
    elif cmd == 'count-unknown':
        ih, irows = read_csv(a[1])
        col = ih.index(a[2])
        classes = set(a[3].split(','))
        na = set((a[4] if len(a) > 4 else ',NA,NaN,nan').split(','))
        print(sum(1 for r in irows if r[col] not in na and r[col] not in classes))
    else:
        fail('numcmp.py: unknown command %r' % cmd)


if __name__ == '__main__':
    main(sys.argv[1:])
