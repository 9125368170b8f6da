# t_check_inspect.sh — the check and inspect commands.

CI_CASE="$PUB/deg1_hinges"

ci_check_ok() { # nothing on stdout; the report shows every row was read
    r mr check -m "$CI_CASE/model.json" --report r.json "$CI_CASE/input.csv"
    want_rc 0 && want_no_out && want_no_err &&
        jcheck r.json --var rows=$(($(wc -l <"$CI_CASE/input.csv") - 1)) "j['rows_in'] == int(rows)"
}
t "check/valid-input" ci_check_ok

ci_check_big() {
    r mr check -m "$PUB/deg2_5000_rows/model.json" --threads 3 --chunk-rows 100 --report r.json "$PUB/deg2_5000_rows/input.csv"
    want_rc 0 && want_no_out && want_no_err &&
        jcheck r.json --var rows=$(($(wc -l <"$PUB/deg2_5000_rows/input.csv") - 1)) "j['rows_in'] == int(rows)"
}
t "check/valid-input-threads-3" ci_check_big

ci_check_bad() {
    r mr check -m "$INV/csv_non_numeric/model.json" "$INV/csv_non_numeric/input.csv"
    want_rc 4 && want_no_out && want_err_line 'input\.csv:3:'
}
t "check/bad-row" ci_check_bad

ci_check_bad_late() { # a bad row after many good chunks still fails, and nothing is written
    gen num in.csv 20000 bad || return 1
    r mr check -m "$CI_CASE/model.json" --chunk-rows 64 in.csv
    want_rc 4 && want_no_out && want_err_line 'in\.csv:20001:'
}
t "check/bad-last-row" ci_check_bad_late

ci_check_bad_model() {
    r mr check -m "$INV/unknown_kind/model.json" "$INV/unknown_kind/input.csv"
    want_rc 3 && want_no_out && want_err_line
}
t "check/invalid-model" ci_check_bad_model

# design header (readable term names), comma-separated fields parsed as CSV
design_names() { mr design -m "$1" "$2" 2>/dev/null | head -n 1; }

ci_inspect_text() { # ci_inspect_text CASE
    local d="$PUB/$1" sha
    sha=$(sha256sum "$d/model.json" | cut -d' ' -f1)
    r mr inspect "$d/model.json"
    want_rc 0 && want_no_err || return 1
    grep -Eq "^sha256: +$sha\$" "$W/out" || { echo "no 'sha256: $sha' line: $(peek "$W/out" 300)"; return 1; }
    design_names "$d/model.json" "$d/input.csv" >header
    "$PY" - "$W/out" "$d/model.json" header <<'PYEOF'
import csv, json, re, sys
text = open(sys.argv[1], encoding='utf-8').read()
m = json.load(open(sys.argv[2]))
fs = m['feature_schema']
names = fs.get('feature_names') or ['x%d' % i for i in range(fs['n_features'])]
lines = text.split('\n')
for j, n in enumerate(names):
    if not any(re.match(r'\s*%d\s+%s(\s|$)' % (j, re.escape(n)), l) for l in lines):
        print('no line for feature %d %r' % (j, n)); sys.exit(1)
terms = next(csv.reader(open(sys.argv[3], encoding='utf-8')), [])
if len(terms) != len(m['basis_terms']):
    print('design header has %d names, the model %d terms' % (len(terms), len(m['basis_terms']))); sys.exit(1)
at = text.find('terms (')
if at < 0:
    print('no terms section'); sys.exit(1)
pos = at
for i, name in enumerate(terms):
    k = text.find(' %s\n' % name, pos)
    if k < 0:
        print('term %d %r not listed (in order)' % (i, name)); sys.exit(1)
    pos = k + len(name)
PYEOF
}
for c in categorical_strings_missing handmade_interaction_kinds deg2_5000_rows; do
    t "inspect/text/$c" ci_inspect_text "$c"
done

ci_inspect_json() { # ci_inspect_json CASE
    local d="$PUB/$1" sha
    sha=$(sha256sum "$d/model.json" | cut -d' ' -f1)
    r mr inspect "$d/model.json" --json
    want_rc 0 && want_no_err || return 1
    "$PY" -m json.tool "$W/out" >/dev/null 2>"$W/jerr" || { echo "not valid JSON: $(peek "$W/jerr")"; return 1; }
    design_names "$d/model.json" "$d/input.csv" >header
    jcheck "$W/out" --model "$d/model.json" --var sha="$sha" --var header="$W/header" \
        "j['n_terms'] == len(m['basis_terms'])" \
        "j['sha256'] == sha" \
        "j['n_features'] == len(j['features'])" \
        "[f['name'] for f in j['features']] == (m['feature_schema'].get('feature_names') or ['x%d' % i for i in range(m['feature_schema']['n_features'])])" \
        "[t['name'] for t in j['terms']] == next(__import__('csv').reader(open(header)), [])" \
        "[t['coefficient'] for t in j['terms']] == m['coefficients']"
}
for c in categorical_strings_missing handmade_interaction_kinds empty_basis sum_stress_64_terms; do
    t "inspect/json/$c" ci_inspect_json "$c"
done

ci_inspect_m() { # `inspect -m MODEL` works like `inspect MODEL`
    r mr inspect -m "$CI_CASE/model.json" --json
    want_rc 0 && jcheck "$W/out" --model "$CI_CASE/model.json" "j['n_terms'] == len(m['basis_terms'])"
}
t "inspect/dash-m" ci_inspect_m

ci_inspect_invalid() {
    r mr inspect "$INV/variable_idx_negative/model.json"
    want_rc 3 && want_no_out && want_err_line 'variable_idx'
}
t "inspect/invalid-model" ci_inspect_invalid

ci_inspect_missing() {
    r mr inspect "$W/nope.json"
    want_rc 5 && want_no_out && want_err_line 'nope\.json'
}
t "inspect/nonexistent-model" ci_inspect_missing

ci_inspect_none() {
    r mr inspect
    want_rc 2 && want_no_out
}
t "inspect/no-model" ci_inspect_none

# provenance (SEMANTICS "Optional metadata"): shown when the model carries it,
# "not stated" when not; metadata of the wrong type is ignored, never an error
with_provenance() { # with_provenance OUT PYTHON-DICT-EXPR: deg1_hinges plus top-level keys
    "$PY" - "$CI_CASE/model.json" "$1" "$2" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
m.update(eval(sys.argv[3]))
json.dump(m, open(sys.argv[2], 'w'))
PYEOF
}

ci_inspect_provenance_text() {
    with_provenance m.json "{'provenance': {'exporter': 'marsreplay-export-earth', 'exporter_version': '0.1.0', 'source_tool': 'earth', 'source_tool_version': '5.3.2', 'source_runtime': 'R 4.2.2', 'later': [1]}}" || return 1
    r mr inspect m.json
    want_rc 0 && want_no_err || return 1
    grep -qx 'exporter:   marsreplay-export-earth 0.1.0' "$W/out" || { echo "no exporter line: $(peek "$W/out" 600)"; return 1; }
    grep -qx 'source:     earth 5.3.2 (R 4.2.2)' "$W/out" || { echo "no source line: $(peek "$W/out" 600)"; return 1; }
}
t "inspect/provenance-text" ci_inspect_provenance_text

ci_inspect_provenance_json() {
    with_provenance m.json "{'provenance': {'exporter': 'x', 'source_tool_version': '1.0.4'}, 'module_version': '9'}" || return 1
    r mr inspect m.json --json
    want_rc 0 && want_no_err || return 1
    jcheck "$W/out" "j['provenance'] == {'exporter': 'x', 'exporter_version': None, 'source_tool': None, 'source_tool_version': '1.0.4', 'source_runtime': None, 'module_version': '9', 'malformed': False}"
}
t "inspect/provenance-json" ci_inspect_provenance_json

ci_inspect_provenance_none() { # the corpus models carry none (module_version null)
    r mr inspect "$CI_CASE/model.json"
    want_rc 0 && want_no_err || return 1
    grep -qx 'exporter:   not stated' "$W/out" && grep -qx 'source:     not stated' "$W/out" ||
        { echo "no 'not stated' lines: $(peek "$W/out" 600)"; return 1; }
    r mr inspect "$CI_CASE/model.json" --json
    want_rc 0 && jcheck "$W/out" "all(v is None for k, v in j['provenance'].items() if k != 'malformed')" \
        "j['provenance']['malformed'] is False"
}
t "inspect/provenance-none" ci_inspect_provenance_none

ci_inspect_module_version() { # pymars's own export names its version in module_version
    with_provenance m.json "{'module_version': '1.0.4'}" || return 1
    r mr inspect m.json
    want_rc 0 && want_no_err || return 1
    grep -qx 'source:     (unnamed tool) 1.0.4 (module_version)' "$W/out" || { echo "no source line: $(peek "$W/out" 600)"; return 1; }
}
t "inspect/provenance-module-version" ci_inspect_module_version

ci_inspect_provenance_bad() { # wrong types: still a valid model; predict unchanged
    with_provenance m.json "{'provenance': {'exporter': 7, 'source_tool': 'earth\\nx'}}" || return 1
    r mr inspect m.json
    want_rc 0 && want_no_err || return 1
    grep -qx 'exporter:   not stated' "$W/out" && grep -qx 'source:     earth\\nx' "$W/out" &&
        grep -q 'wrong type: ignored' "$W/out" || { echo "unexpected lines: $(peek "$W/out" 600)"; return 1; }
    r mr inspect m.json --json
    want_rc 0 && jcheck "$W/out" "j['provenance']['malformed'] is True" "j['provenance']['source_tool'] == 'earth\nx'" || return 1
    with_provenance m2.json "{'provenance': 'earth 5.3.2'}" || return 1
    r mr predict -m m2.json "$CI_CASE/input.csv"
    want_rc 0 && want_no_err && want_same "$W/out" "$CI_CASE/expected.csv"
}
t "inspect/provenance-wrong-type" ci_inspect_provenance_bad
