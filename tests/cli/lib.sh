# lib.sh — helpers for tests/cli/run.sh (sourced; needs ROOT, HERE and BIN).
#
# A test is a shell function run by `t NAME FUNC [ARGS...]` in a subshell, inside
# its own empty directory $W. It passes when it returns 0. On failure it prints
# the reason on stdout (the want_* helpers do) and returns non-zero.
#
# Run the program with `r CMD...` (stdin from /dev/null) or `rin FILE CMD...`:
# stdout goes to $W/out, stderr to $W/err, the status to $RC. `mr` is the program
# under a time limit, so a hang is a failure (status 124), never a stuck suite.

NPASS=0
NFAIL=0
NTEST=0
PY=${PYTHON:-python3}
FIX="$ROOT/fixtures/conformance"
PUB="$FIX/public"
INV="$FIX/invalid"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mars-replay-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
SHARED="$TMP/shared" # data made once and read by several tests
mkdir -p "$SHARED"

mr() { timeout -k 5 120 "$BIN" "$@"; }

pass() { echo "PASS $1"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL $1: $2"; NFAIL=$((NFAIL + 1)); }

t() {
    local name=$1 why rc
    shift
    NTEST=$((NTEST + 1))
    W="$TMP/w$NTEST"
    mkdir -p "$W"
    why=$(cd "$W" && "$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "$name"
    else
        why=$(printf '%s' "$why" | tr '\n\r' '  ' | cut -c1-600)
        fail "$name" "${why:-test returned $rc}"
    fi
    rm -rf "$W"
}

r() { "$@" >"$W/out" 2>"$W/err" </dev/null; RC=$?; }
rin() { local f=$1; shift; "$@" >"$W/out" 2>"$W/err" <"$f"; RC=$?; }

# Show a file's start on one line, for messages.
peek() { head -c "${2:-200}" "$1" 2>/dev/null | tr '\n\r' '||'; }

want_rc() {
    [ "$RC" = "$1" ] && return 0
    echo "exit status $RC, expected $1; stderr: $(peek "$W/err" 300)"
    return 1
}

# stderr is exactly one line "mars-replay: ...", without a trailing period;
# with an argument, the line must also match that extended regex.
want_err_line() {
    local f="$W/err" n
    n=$(wc -l <"$f")
    if [ "$n" != 1 ] || [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then
        echo "stderr should be exactly one line, found $n newline(s): $(peek "$f" 300)"
        return 1
    fi
    if [ "$(head -c 13 "$f")" != "mars-replay: " ]; then
        echo "stderr does not start with 'mars-replay: ': $(peek "$f")"
        return 1
    fi
    if grep -q '\.$' "$f"; then
        echo "stderr message ends with a period: $(peek "$f")"
        return 1
    fi
    if [ $# -gt 0 ] && ! grep -Eq -- "$1" "$f"; then
        echo "stderr does not match /$1/: $(peek "$f" 300)"
        return 1
    fi
}

want_no_err() {
    [ -s "$W/err" ] || return 0
    echo "stderr should be empty: $(peek "$W/err" 300)"
    return 1
}

want_no_out() {
    [ -s "$W/out" ] || return 0
    echo "stdout should be empty: $(peek "$W/out")"
    return 1
}

# want_same GOT WANT: byte-identical files
want_same() {
    cmp -s "$1" "$2" && return 0
    echo "${1#"$TMP"/} ($(wc -l <"$1") lines) differs from ${2#"$TMP"/} ($(wc -l <"$2") lines): $(cmp "$1" "$2" 2>&1 | sed "s#$TMP/##g" | head -1); got: $(peek "$1" 100) want: $(peek "$2" 100)"
    return 1
}

# want_text FILE TEXT: the file holds exactly TEXT
want_text() {
    [ "$(cat "$1"; echo x)" = "$2"x ] && return 0
    echo "$1 is '$(peek "$1" 200)', expected '$(printf '%s' "$2" | tr '\n' '|')'"
    return 1
}

want_exists() { [ -e "$1" ] || { echo "$1 does not exist"; return 1; }; }
want_absent() { [ ! -e "$1" ] || { echo "$1 should not exist"; return 1; }; }

# Python helpers in tests/cli (each prints its reason on failure).
numcmp() { "$PY" "$HERE/numcmp.py" "$@"; }
jcheck() { "$PY" "$HERE/jsoncheck.py" "$@"; }
gen() { "$PY" "$HERE/gen.py" "$@"; }

# The model's feature names, comma-separated (feature_schema.feature_names or x0..).
features_of() {
    "$PY" - "$1" <<'EOF'
import json, sys
fs = json.load(open(sys.argv[1]))['feature_schema']
names = fs.get('feature_names') or ['x%d' % i for i in range(fs['n_features'])]
print(','.join(names))
EOF
}
