#!/usr/bin/env python3
"""Fixture tests of scripts/check_claims.py: every file of claims/must_flag must be flagged for
exactly the terms of its 'expect:' line; every file of claims/must_pass must pass; a bad
allowlist (no reason) is a usage error, and an allowlist entry with a reason silences its claim.
Exit 0 all good, 1 otherwise."""
import os
import re
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.dirname(os.path.dirname(here))
gate = os.path.join(top, "scripts", "check_claims.py")
fx = os.path.join(here, "claims")
bad = 0


def run(path, allow=os.devnull):
    p = subprocess.run([sys.executable, gate, "--root", fx, "--allowlist", allow, path],
                       capture_output=True, text=True)
    terms = set(re.findall(r'^[^:]+:\d+: "([^"]+)"', p.stdout, re.M))
    return p.returncode, terms, p.stdout + p.stderr


for d, want_rc in (("must_flag", 1), ("must_pass", 0)):
    for name in sorted(os.listdir(os.path.join(fx, d))):
        rel = f"{d}/{name}"
        rc, terms, out = run(rel)
        with open(os.path.join(fx, rel)) as f:
            m = re.search(r"expect:\s*([^\n>]*?)\s*(?:-->)?\s*$", f.read(), re.M)
        want = {t.strip() for t in m.group(1).split(",")} if m else set()
        if rc != want_rc or terms != want:
            print(f"test_check_claims: {rel}: rc {rc} (want {want_rc}), flagged {sorted(terms)}, "
                  f"want {sorted(want)}\n{out}")
            bad += 1

with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as t:
    t.write("must_flag/wrong_level.md | MPI | thousands of ranks |\n")
rc, _, out = run("must_flag/wrong_level.md", t.name)
if rc != 2:
    print(f"test_check_claims: an allowlist entry without a reason gave rc {rc}, want 2\n{out}")
    bad += 1
with open(t.name, "w") as f:
    f.write("must_flag/wrong_level.md | MPI | thousands of ranks | fixture: a quoted marketing line\n")
rc, _, out = run("must_flag/wrong_level.md", t.name)
if rc != 0:
    print(f"test_check_claims: an allowlist entry with a reason did not silence its claim\n{out}")
    bad += 1
os.unlink(t.name)
print(f"test_check_claims: {'FAILED' if bad else 'ok'} ({bad} failure(s))")
sys.exit(1 if bad else 0)
