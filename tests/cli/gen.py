#!/usr/bin/env python3
"""Test-data generators for tests/cli (Python 3 stdlib only).

  gen.py cat OUT.csv NROWS SEED      rows for the categorical_strings_missing model
                                     (columns note,c,b,colour,id) with quoted notes
                                     (commas, doubled quotes, newlines), NA tokens,
                                     unknown labels
  gen.py npy OUT.npy IN.csv COLS DTYPE [ROWS]
                                     .npy (C order) of the named CSV columns; DTYPE
                                     <f8 or <f4; ROWS overrides the header's row count
  gen.py f64 OUT.f64 IN.csv COLS     raw little-endian float64, row-major
  gen.py f32csv OUT.csv IN.csv COLS  the named columns rounded to float32, as CSV
  gen.py num OUT.csv NROWS [bad]     numeric rows x0,x1,x2 (for deg1_hinges); with
                                     `bad` the last row has 'bad' in x1
  gen.py nanmix OUT.npy OUT.csv COLS NROWS SEED [ROW:COL]
                                     the same random float64 rows as .npy and as CSV
                                     (header COLS), with NaNs of many payloads and
                                     signs (CSV: nan) and +-inf in about 4% of the
                                     cells; with ROW:COL (1-based) only that one cell
                                     is NaN
"""
import csv
import random
import struct
import sys


def gen_cat(path, n, seed):
    rnd = random.Random(seed)
    notes = ['abc', '', 'NA', 'x y', 'plain', '"with, comma"', '"say ""hi"""',
             '"two\nlines"', '"a,""b"",\r\nc"', '""""', '","', '"ends with newline\n"']
    colours = ['blue', 'green', 'red']
    odd = ['UNSEEN_LABEL', 'GREEN', 'purple', ' blue', '']
    na = ['', 'NA', 'NaN', 'nan']

    def num():
        u = rnd.random()
        if u < 0.04:
            return rnd.choice(na)
        if u < 0.05:
            return rnd.choice(['0', '-0', '1e-320', '1e5', '.5', '-3.', '+2.5E-3'])
        return repr(rnd.uniform(-3, 10))

    with open(path, 'w', newline='') as fh:
        fh.write('note,c,b,colour,id\n')
        for i in range(n):
            u = rnd.random()
            if u < 0.06:
                col = rnd.choice(odd)
            elif u < 0.09:
                col = rnd.choice(na)
            else:
                col = rnd.choice(colours)
            fh.write('%s,%s,%s,%s,%d\n' % (rnd.choice(notes), num(), num(), col, i))


def read_cols(path, cols):
    with open(path, newline='') as fh:
        rd = csv.reader(fh)
        h = next(rd)
        idx = [h.index(c) for c in cols]
        return [[float(r[i]) for i in idx] for r in rd]


def npy_bytes(rows, ncol, dtype, nrows=None):
    nrows = len(rows) if nrows is None else nrows
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }" % (dtype, nrows, ncol)
    pad = (64 - (10 + len(hdr) + 1) % 64) % 64
    h = (hdr + ' ' * pad + '\n').encode('latin1')
    code = {'<f8': 'd', '<f4': 'f'}[dtype]
    body = b''.join(struct.pack('<%d%s' % (ncol, code), *r) for r in rows)
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + body


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def main(a):
    if a[0] == 'cat':
        gen_cat(a[1], int(a[2]), int(a[3]))
    elif a[0] == 'npy':
        cols = a[3].split(',')
        rows = read_cols(a[2], cols)
        nrows = int(a[5]) if len(a) > 5 else None
        with open(a[1], 'wb') as fh:
            fh.write(npy_bytes(rows, len(cols), a[4], nrows))
    elif a[0] == 'f64':
        cols = a[3].split(',')
        with open(a[1], 'wb') as fh:
            for r in read_cols(a[2], cols):
                fh.write(struct.pack('<%dd' % len(cols), *r))
    elif a[0] == 'f32csv':
        cols = a[3].split(',')
        with open(a[1], 'w', newline='') as fh:
            fh.write(','.join(cols) + '\n')
            for r in read_cols(a[2], cols):
                fh.write(','.join(repr(f32(x)) for x in r) + '\n')
    elif a[0] == 'num':
        n = int(a[2])
        bad = len(a) > 3 and a[3] == 'bad'
        rnd = random.Random(7)
        with open(a[1], 'w') as fh:
            fh.write('x0,x1,x2\n')
            for i in range(n - 1 if bad else n):
                fh.write('%r,%r,%r\n' % (rnd.uniform(-2, 2), rnd.uniform(-2, 2), rnd.uniform(-2, 2)))
            if bad:
                fh.write('0.5,bad,0.5\n')
    elif a[0] == 'nanmix':
        cols = a[3].split(',')
        n, rnd = int(a[4]), random.Random(int(a[5]))
        only = tuple(int(v) for v in a[6].split(':')) if len(a) > 6 else None
        rows, text = [], []
        for i in range(n):
            row, cells = [], []
            for j in range(len(cols)):
                u = rnd.random()
                if only:
                    u = 0.0 if (i + 1, j + 1) == only else 1.0
                if u < 0.03:  # quiet or signalling-looking payloads, either sign
                    bits = 0x7ff0000000000000 | rnd.getrandbits(52) | rnd.choice([0, 1 << 51])
                    bits |= rnd.choice([0, 1 << 63])
                    if bits & 0x000fffffffffffff == 0:
                        bits |= 1
                    row.append(struct.unpack('<d', struct.pack('<Q', bits))[0])
                    cells.append('nan')
                elif u < 0.04:
                    v = rnd.choice([float('inf'), float('-inf')])
                    row.append(v)
                    cells.append(repr(v))
                else:
                    v = rnd.uniform(-3, 10)
                    row.append(v)
                    cells.append(repr(v))
            rows.append(row)
            text.append(','.join(cells))
        with open(a[1], 'wb') as fh:
            fh.write(npy_bytes(rows, len(cols), '<f8'))
        with open(a[2], 'w', newline='') as fh:
            fh.write(','.join('"%s"' % c if ' ' in c else c for c in cols) + '\n')
            fh.write(''.join(t + '\n' for t in text))
    else:
        sys.exit('gen.py: unknown command %r' % a[0])


if __name__ == '__main__':
    main(sys.argv[1:])
