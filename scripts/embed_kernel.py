#!/usr/bin/env python3
"""embed_kernel.py IN.cl OUT.c SYMBOL — the kernel source as a C array.

The library carries its OpenCL C source (kernels/*.cl), so an installed
binary needs no extra files. The array is NUL-terminated; SYMBOL_len is the
length without the NUL."""
import sys

src, out, sym = sys.argv[1:4]
data = open(src, 'rb').read()
with open(out, 'w') as fh:
    fh.write('/* generated from %s by scripts/embed_kernel.py: do not edit */\n' % src.split('/')[-1])
    fh.write('#include <stddef.h>\n')
    fh.write('const char %s[] = {\n' % sym)
    for i in range(0, len(data), 16):
        fh.write('    ' + ', '.join('0x%02x' % b for b in data[i:i + 16]) + ',\n')
    fh.write('    0x00\n};\n')
    fh.write('const size_t %s_len = %d;\n' % (sym, len(data)))
