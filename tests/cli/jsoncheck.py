#!/usr/bin/env python3
"""JSON assertions for tests/cli (Python 3 stdlib only).

  jsoncheck.py FILE [--model MODEL.json] [--var NAME=VALUE ...] EXPR ...

FILE must be strict JSON (RFC 8259: no NaN/Infinity tokens). Each EXPR is a
Python expression evaluated with `j` = the parsed FILE, `m` = the parsed model
(with --model) and each --var NAME as a string; all must be true. On failure
print one line naming the first false expression and exit 1.
"""
import json
import sys


def strict_loads(text, what):
    def bad_constant(tok):
        raise ValueError('non-standard JSON token %s' % tok)
    try:
        return json.loads(text, parse_constant=bad_constant)
    except ValueError as exc:
        print('%s: not valid JSON: %s' % (what, exc))
        sys.exit(1)


def main(a):
    path = a.pop(0)
    env = {}
    exprs = []
    while a:
        x = a.pop(0)
        if x == '--model':
            p = a.pop(0)
            with open(p, encoding='utf-8') as fh:
                env['m'] = strict_loads(fh.read(), p)
        elif x == '--var':
            k, _, v = a.pop(0).partition('=')
            env[k] = v
        else:
            exprs.append(x)
    try:
        with open(path, encoding='utf-8') as fh:
            text = fh.read()
    except OSError as exc:
        print('%s: %s' % (path, exc))
        sys.exit(1)
    env['j'] = strict_loads(text, path)
    for e in exprs:
        try:
            ok = eval(e, dict(env))
        except Exception as exc:  # a missing key is a failure, not a crash
            print('%s: %s raised %s: %s' % (path, e, type(exc).__name__, exc))
            sys.exit(1)
        if not ok:
            print('%s: not true: %s' % (path, e))
            sys.exit(1)


if __name__ == '__main__':
    main(sys.argv[1:])
