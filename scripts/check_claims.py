#!/usr/bin/env python3
"""check_claims.py - the claim-check gate (docs/contracts.md, docs/claim_review_checklist.md).

A paragraph of the docs that names a term of TERMS (GPU, OpenCL, MPI, stable ABI, Spack, ...)
must, in the same paragraph, name that term's contract level (H0..H4; for "tested on" any level)
or link docs/contracts.md, which says what each level was shown by and its limits. A heading
(Markdown #..######, man .SH/.SS) that names the level or links docs/contracts.md counts for
every paragraph of its section: a document about one level says so once, in its title. Code is
skipped: fenced and indented blocks and `inline code` in Markdown, .nf/.fi and .EX/.EE blocks in
man pages, everything but comments in scripts and recipes. A Markdown table row is a paragraph
of its own. Known exceptions live in scripts/claims_allowlist.txt, each with its reason.

usage: check_claims.py [--allowlist FILE] [--root DIR] [PATH...]
       (default PATHs: README.md docs man packaging)
exit: 0 no unqualified claim, 1 claims found (one line each: FILE:LINE: ...), 2 usage or
      a bad allowlist (an entry without a reason, or one that matches nothing).
"""
import os
import re
import sys

# term -> (regex, level it belongs to; None = any level)
TERMS = [
    ("GPU", r"(?-i:\bGPUs?\b)", "H3"),
    ("accelerator", r"\baccelerators?\b", "H3"),
    ("OpenCL", r"(?-i:\bOpenCL\b)", "H3"),
    ("CUDA", r"(?-i:\bCUDA\b)", "H3"),
    ("MPI", r"(?-i:\bMPI\b)", "H4"),
    ("distributed", r"\bdistributed\b", "H4"),
    ("multi-node", r"\bmulti-?node\b", "H4"),
    ("cluster", r"\bclusters?\b", "H4"),
    ("Slurm", r"\bSlurm\b", "H4"),
    ("stable ABI", r"\bstable\s+(?:C\s+)?(?:ABI|API|runtime boundary)\b", "H2"),
    ("Arrow", r"(?-i:\bArrow\b)", "H2"),
    ("zero-copy", r"\bzero[- ]copy\b", "H2"),
    ("Spack", r"\bSpack\b", "H0"),
    ("EasyBuild", r"\bEasyBuild\b", "H0"),
    ("conda-forge", r"\bconda-forge\b", "H0"),
    ("tested on", r"\btested\s+on\b", None),
]
COMPILED = [(n, re.compile(r, re.I), lv) for n, r, lv in TERMS]
LEVEL = re.compile(r"\bH([0-4])\b")
CONTRACTS = re.compile(r"contracts\.md")
DEFAULT_PATHS = ["README.md", "docs", "man", "packaging"]
TEXT_EXT = (".md", ".txt", ".rst")
CODE_EXT = (".py", ".sh", ".sbatch", ".eb", ".yaml", ".yml", ".cfg", ".toml")


def md_paragraphs(lines):
    """(first line number, text, scope) per paragraph; code blocks skipped, table rows alone.
    scope: the text of the headings above it (a heading that names a level qualifies its
    section, subsections included)."""
    out, cur, start, fence, prev_blank = [], [], 0, None, True
    heads = []  # (rank, text)

    def scope():
        return " ".join(t for _, t in heads)

    def flush():
        nonlocal cur
        if cur:
            out.append((start, " ".join(cur), scope()))
        cur = []

    for i, line in enumerate(lines, 1):
        s = line.rstrip("\n")
        m = re.match(r"^\s*(```+|~~~+)", s)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            prev_blank = False
            continue
        if m:
            flush()
            fence = m.group(1)
            continue
        if not s.strip():
            flush()
            prev_blank = True
            continue
        h = re.match(r"^(#{1,6})\s+(.*)", s)
        if h and not cur:
            rank = len(h.group(1))
            heads[:] = [x for x in heads if x[0] < rank]
            out.append((i, h.group(2), scope()))
            heads.append((rank, h.group(2)))
            prev_blank = True
            continue
        if (s.startswith("    ") or s.startswith("\t")) and prev_blank and not cur:
            continue  # indented code block (stays "blank-preceded" until a blank line)
        if s.lstrip().startswith("|"):
            flush()
            if not re.match(r"^\s*\|[\s:|-]+\|\s*$", s):
                out.append((i, s, scope()))
            prev_blank = False
            continue
        if not cur:
            start = i
        cur.append(s)
        prev_blank = False
    flush()
    return [(n, re.sub(r"`[^`]*`", " ", t), sc) for n, t, sc in out]


def man_paragraphs(lines):
    """The same for troff man pages; .SH and .SS headings give the scope."""
    out, cur, start, nofill = [], [], 0, False
    heads = {}  # "SH"/"SS" -> text

    def flush():
        nonlocal cur
        if cur:
            out.append((start, " ".join(cur), " ".join(heads.values())))
        cur = []

    for i, line in enumerate(lines, 1):
        s = line.rstrip("\n")
        if s.startswith(".\\\"") or s.startswith("'\\\""):
            continue
        if re.match(r"^\.(nf|EX)\b", s):
            flush()
            nofill = True
            continue
        if re.match(r"^\.(fi|EE)\b", s):
            nofill = False
            continue
        if nofill:
            continue
        hm = re.match(r"^\.(SH|SS)\s*(.*)", s)
        if hm:
            flush()
            if hm.group(1) == "SH":
                heads.clear()
            heads[hm.group(1)] = hm.group(2).replace('"', "")
            continue
        if not s.strip() or re.match(r"^\.(PP|P|LP|TP|IP|SH|SS|TH|RS|RE|SY|YS)\b", s):
            flush()
            s = re.sub(r"^\.(SH|SS|IP)\s*", "", s) if re.match(r"^\.(SH|SS|IP)\b", s) else ""
            if not s.strip():
                continue
        s = re.sub(r"^\.[A-Za-z]+\s*", "", s)  # font macros: keep their words
        s = re.sub(r"\\f[BIRP]|\\f\(..|\\-|\\\(..|\\&|\\e", lambda m: "-" if m.group(0) == "\\-" else " ", s)
        if not cur:
            start = i
        cur.append(s.replace('"', ""))
    flush()
    return out


def comment_paragraphs(lines):
    out, cur, start = [], [], 0
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith("#") and not s.startswith("#!") and not s.startswith("#SBATCH"):
            body = s.lstrip("#").strip()
            if body:
                if not cur:
                    start = i
                cur.append(body)
                continue
        if cur:
            out.append((start, " ".join(cur), ""))
            cur = []
    if cur:
        out.append((start, " ".join(cur), ""))
    return out


def paragraphs(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    if path.endswith(TEXT_EXT) or os.path.basename(path).upper().startswith("README"):
        return md_paragraphs(lines)
    if re.search(r"\.[1-9]$", path):
        return man_paragraphs(lines)
    if path.endswith(CODE_EXT):
        return comment_paragraphs(lines)
    return []


def load_allowlist(path):
    """Lines 'FILE | TERM | TEXT IN THE PARAGRAPH | REASON'; '#' comments."""
    entries = []
    if not path or not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.rstrip("\n").split("|")]
            if len(parts) != 4 or not all(parts[:3]) or len(parts[3]) < 10:
                print(f"check_claims: {path}:{n}: an entry is 'FILE | TERM | TEXT | REASON' "
                      "with a reason of at least 10 characters", file=sys.stderr)
                sys.exit(2)
            entries.append({"file": parts[0], "term": parts[1], "text": parts[2],
                            "reason": parts[3], "line": n, "used": False})
    return entries


def files_under(root, paths):
    for p in paths:
        full = os.path.join(root, p)
        if os.path.isfile(full):
            yield p
        elif os.path.isdir(full):
            for d, dirs, fs in os.walk(full):
                dirs.sort()
                for name in sorted(fs):
                    yield os.path.relpath(os.path.join(d, name), root)


def check(root, paths, allow):
    findings = []
    for rel in files_under(root, paths):
        for line, text, scope in paragraphs(os.path.join(root, rel)):
            text = re.sub(r"\s+", " ", text)
            # the targets of links, file names and paths are no claims (docs/accelerator.md)
            linked_text = text + " " + scope
            text = re.sub(r"\]\([^)]*\)", "]", text)
            text = re.sub(r"[\w.$~-]*/[\w./*$~-]*|[\w-]+\.(?:md|sbatch|so|1)\b", " ", text)
            levels = set(LEVEL.findall(text + " " + scope))
            # docs/contracts.md is the table the others link to
            linked = bool(CONTRACTS.search(linked_text)) or rel.replace(os.sep, "/") == "docs/contracts.md"
            for name, rx, lv in COMPILED:
                m = rx.search(text)
                if not m or linked:
                    continue
                if (lv is None and levels) or (lv is not None and lv[1] in levels):
                    continue
                hit = [a for a in allow if a["file"] == rel.replace(os.sep, "/") and
                       a["term"] == name and a["text"] in text]
                if hit:
                    for a in hit:
                        a["used"] = True
                    continue
                want = f"its level {lv}" if lv else "a level H0-H4"
                snip = text[max(0, m.start() - 40):m.end() + 40].strip()
                findings.append(f"{rel}:{line}: \"{name}\" without {want} or a link to "
                                f"docs/contracts.md in the paragraph: ...{snip}...")
    return findings


def main(argv):
    args, allowlist, root = [], None, "."
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--allowlist", "--root") and i + 1 < len(argv):
            if a == "--allowlist":
                allowlist = argv[i + 1]
            else:
                root = argv[i + 1]
            i += 2
            continue
        if a.startswith("-"):
            print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
            return 2
        args.append(a)
        i += 1
    if allowlist is None:
        allowlist = os.path.join(root, "scripts", "claims_allowlist.txt")
    allow = load_allowlist(allowlist)
    paths = args or DEFAULT_PATHS
    for p in paths:
        if not os.path.exists(os.path.join(root, p)):
            print(f"check_claims: {p}: no such file or folder", file=sys.stderr)
            return 2
    findings = check(root, paths, allow)
    for f in findings:
        print(f)
    stale = [a for a in allow if not a["used"] and not args]
    for a in stale:
        print(f"check_claims: {allowlist}:{a['line']}: allowlist entry matches nothing "
              f"(remove it): {a['file']} | {a['term']}", file=sys.stderr)
    if findings:
        print(f"check_claims: {len(findings)} claim(s) without their contract level "
              "(docs/claim_review_checklist.md)", file=sys.stderr)
        return 1
    return 2 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
