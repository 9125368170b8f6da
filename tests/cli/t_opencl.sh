# t_opencl.sh — the OpenCL backend (docs/accelerator.md) against the CPU path.
# Run by `meson test --suite opencl` (tests/cli/run.sh BUILD opencl). Needs an
# OpenCL platform with a usable fp64 device (CI: PoCL's CPU device); without one
# the whole group is skipped (exit 77) with the probe's reason.

# the program-binary cache of these tests, never the user's
export XDG_CACHE_HOME="$TMP/xdg"

OCL_PROBE=$("$BIN" probe --json 2>&1)
if ! printf '%s' "$OCL_PROBE" | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
ok = any(d["usable_double"] for p in j["platforms"] for d in p["devices"])
sys.exit(0 if ok else 1)'; then
    echo "SKIP opencl: no usable OpenCL fp64 device: $(printf '%s' "$OCL_PROBE" | tr '\n' ' ' | cut -c1-300)"
    exit 77
fi
OCL_GEN="$HERE/gen_ocl.py"
# the fake ICD loader (tests/shim/ocl_pretend.c): forwards to the real one and,
# with MR_TEST_OCL_NO_FP64=1 / MR_TEST_OCL_AS_GPU=1, hides fp64 / reports GPUs
OCL_PRETEND="$BUILD/tests/ocl_pretend.so"
OCL_EMPTY="$TMP/no-vendors"
mkdir -p "$OCL_EMPTY"

# --- probe -------------------------------------------------------------------
ocl_probe_text() {
    r mr probe
    want_rc 0 && want_no_err || return 1
    grep -q '^platform 0: ' out && grep -Eq '^  device opencl:0\.[0-9]+: ' out &&
        grep -Eq 'type (cpu|gpu|accelerator), [0-9]+ compute units' out && grep -q 'fp64 yes' out &&
        grep -q 'usable: double and single precision' out || { echo "probe text: $(peek out 400)"; return 1; }
}
t "opencl/probe/text" ocl_probe_text

ocl_probe_json() {
    r mr probe --json
    want_rc 0 && want_no_err && jcheck out "j['opencl_compiled'] is True" "j['available'] is True" \
        "j['reason'] == ''" "len(j['platforms']) >= 1" \
        "all(isinstance(d['compute_units'], int) and d['compute_units'] > 0 for p in j['platforms'] for d in p['devices'])" \
        "all(d['global_mem_bytes'] > 0 and d['max_alloc_bytes'] > 0 for p in j['platforms'] for d in p['devices'])" \
        "all(d['spec'] == 'opencl:%d.%d' % (p['index'], d['index']) for p in j['platforms'] for d in p['devices'])" \
        "all(d['type'] in ('cpu', 'gpu', 'accelerator', 'other') for p in j['platforms'] for d in p['devices'])" \
        "all(d['opencl_c_version'].startswith('OpenCL C') for p in j['platforms'] for d in p['devices'])" \
        "any(d['fp64'] and d['usable_double'] and d['why_not'] == '' for p in j['platforms'] for d in p['devices'])"
}
t "opencl/probe/json" ocl_probe_json

ocl_probe_no_platform() { # with no vendor driver: not an error, says why
    OCL_ICD_VENDORS="$OCL_EMPTY" r mr probe --json
    want_rc 0 && jcheck out "j['available'] is False" "'no OpenCL platform' in j['reason']" "j['platforms'] == []" &&
        OCL_ICD_VENDORS="$OCL_EMPTY" r mr probe && want_rc 0 && grep -q '^OpenCL: no device: no OpenCL platform' out
}
t "opencl/probe/no-platform" ocl_probe_no_platform

ocl_probe_no_loader() {
    MR_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1 r mr probe --json
    want_rc 0 && jcheck out "j['available'] is False" "'no OpenCL ICD loader' in j['reason']"
}
t "opencl/probe/no-loader" ocl_probe_no_loader

# --- the corpus, bit for bit ------------------------------------------------------
# same bytes and same exit status as the CPU, for predict and design, CSV and raw
# float64 output (NaN payloads included), several thread counts and chunk sizes
ocl_same() { # ocl_same NAME CMD MODEL INPUT [OPTIONS...]
    local name=$1 cmd=$2 model=$3 input=$4 rc_cpu
    shift 4
    r mr "$cmd" -m "$model" "$@" "$input"
    rc_cpu=$RC
    mv out "cpu.$name" && mv err "cpu.$name.err"
    r mr "$cmd" -m "$model" --device opencl "$@" "$input"
    [ "$RC" = "$rc_cpu" ] || { echo "$name: exit $RC on the device, $rc_cpu on the CPU: $(peek err 300)"; return 1; }
    case " $* " in
    *" -O f64 "* | *" -O npy "*) ocl_same_f64 out "cpu.$name" || return 1 ;;
    *) want_same out "cpu.$name" || return 1 ;;
    esac
    cmp -s err "cpu.$name.err" ||
        { echo "$name: stderr differs: $(peek err 200) vs $(peek "cpu.$name.err" 200)"; return 1; }
}

# Raw float64 / .npy output: the same bytes, NaNs included (both paths write
# every NaN as +NaN 0x7ff8000000000000: docs/tolerance.md).
ocl_same_f64() { # ocl_same_f64 GOT WANT
    cmp -s "$1" "$2" && return 0
    echo "raw output differs from the CPU's: $(cmp "$1" "$2" 2>&1 | head -1)"
    return 1
}

ocl_corpus_case() {
    local d="$PUB/$1"
    ocl_same p1 predict "$d/model.json" "$d/input.csv" --threads 1 &&
        ocl_same p3 predict "$d/model.json" "$d/input.csv" --threads 3 --chunk-rows 7 &&
        ocl_same d2 design "$d/model.json" "$d/input.csv" --threads 2 --chunk-rows 1000 &&
        ocl_same f64 predict "$d/model.json" "$d/input.csv" --threads 2 -O f64 &&
        ocl_same df64 design "$d/model.json" "$d/input.csv" --threads 1 -O f64 --chunk-rows 5000 &&
        ocl_same chk check "$d/model.json" "$d/input.csv"
}
for d in "$PUB"/*/; do
    c=$(basename "$d")
    t "opencl/corpus/$c" ocl_corpus_case "$c"
done

ocl_corpus_expected() { # and the corpus's own expected predictions (check.py)
    local n_cases
    n_cases=$(($(find "$PUB" -mindepth 1 -maxdepth 1 -type d | wc -l) + $(find "$INV" -mindepth 1 -maxdepth 1 -type d | wc -l)))
    "$PY" "$FIX/check.py" --timeout 60 --cmd "timeout -k 5 60 $(printf '%q' "$BIN") predict --device opencl --model {model} {input}" \
        --corpus "$PUB" --invalid "$INV" >log 2>&1
    local rc=$? last
    last=$(tail -n 1 log)
    [ $rc -eq 0 ] && [ "$last" = "$n_cases passed, 0 failed" ] ||
        { echo "check.py --device opencl: exit $rc, '$last'; $(grep '^FAIL' log | head -3 | tr '\n' ';')"; return 1; }
}
t "opencl/corpus/check.py" ocl_corpus_expected

ocl_invalid_case() { # errors: same status and message as the CPU
    local d="$INV/$1"
    ocl_same inv predict "$d/model.json" "$d/input.csv" --threads 2 --chunk-rows 3
}
for d in "$INV"/*/; do
    c=$(basename "$d")
    t "opencl/invalid/$c" ocl_invalid_case "$c"
done

# --- 1e5 random rows, models of degree 1..3 with categorical and missingness -------
ocl_random() { # ocl_random DEGREE
    "$PY" "$OCL_GEN" model m.json "$1" "$((100 + $1))" && "$PY" "$OCL_GEN" data m.json in.csv 100000 "$1" || return 1
    jcheck m.json "j['params']['max_degree'] == $1" \
        "{'categorical', 'missingness', 'hinge', 'linear'} <= {t['kind'] for t in j['basis_terms']} | {t['parent1']['kind'] for t in j['basis_terms'] if t.get('parent1')}" || return 1
    ocl_same p predict m.json in.csv --threads 2 -q &&
        ocl_same p1 predict m.json in.csv --threads 1 --chunk-rows 5000 -q -O f64 &&
        ocl_same d design m.json in.csv --threads 2 --chunk-rows 3000 -q &&
        [ "$(grep -c nan cpu.p)" -gt 1000 ] || { echo "too few NaN predictions to test the NaN rules"; return 1; }
}
t "opencl/random/degree-1" ocl_random 1
t "opencl/random/degree-2" ocl_random 2
t "opencl/random/degree-3" ocl_random 3

ocl_keep_cat() { # kept columns, quoted fields and unseen levels through the device
    gen cat in.csv 20000 7 || return 1
    ocl_same k predict "$PUB/categorical_strings_missing/model.json" in.csv --keep id,note --threads 3 --chunk-rows 333 -q &&
        ocl_same k1 predict "$PUB/categorical_strings_missing/model.json" in.csv --keep note --threads 1 -q
}
t "opencl/keep-and-categorical" ocl_keep_cat

ocl_npy_in() {
    local d="$PUB/deg2_5000_rows"
    gen npy in.npy "$d/input.csv" "$(features_of "$d/model.json")" '<f8' &&
        ocl_same n predict "$d/model.json" in.npy --threads 2 --chunk-rows 999 &&
        ocl_same n32 predict "$d/model.json" in.npy --threads 2 -O npy
}
t "opencl/npy-input" ocl_npy_in

ocl_data_error() { # a bad row: the same error (row, column, text) as the CPU
    gen num in.csv 30000 bad || return 1
    ocl_same e predict "$PUB/deg1_hinges/model.json" in.csv --threads 2 --chunk-rows 4096 &&
        [ "$RC" = 4 ] && want_err_line 'bad'
}
t "opencl/data-error" ocl_data_error

# --- single precision: the bound of docs/tolerance.md ------------------------------
# norm = |dev - cpu| / sum |coef * term| <= 2^-17 (128 float32 roundings); NaN where
# the CPU has NaN. Inputs within float range (extreme_values is outside it).
OCL_SINGLE_BOUND=7.62939453125e-06
ocl_single() { # ocl_single MODEL INPUT
    r mr predict -q -m "$1" "$2" && mv out cpu.csv && r mr design -q -m "$1" "$2" && mv out design.csv &&
        r mr predict -q -m "$1" --device opencl --precision single --threads 2 "$2" && want_rc 0 || return 1
    "$PY" "$HERE/tolcmp.py" "$1" cpu.csv out design.csv "$OCL_SINGLE_BOUND" >tol || { cat tol; return 1; }
    grep -q 'nan_mismatch 0' tol || { cat tol; return 1; }
}
ocl_single_corpus() {
    ocl_single "$PUB/$1/model.json" "$PUB/$1/input.csv"
}
for c in deg2_5000_rows sum_stress_64_terms wide_45_features_5000_rows handmade_interaction_kinds categorical_strings_missing missingness_terms; do
    t "opencl/single/$c" ocl_single_corpus "$c"
done
ocl_single_random() {
    "$PY" "$OCL_GEN" model m.json 3 7 && "$PY" "$OCL_GEN" data m.json all.csv 100000 9 || return 1
    grep -v -e 1e300 -e 1e-310 -e 5e-324 all.csv >in.csv # float range only
    ocl_single m.json in.csv
}
t "opencl/single/random-degree-3" ocl_single_random

ocl_single_not_double() { # single is not double: the test above can tell them apart
    local d="$PUB/deg2_5000_rows"
    r mr predict -m "$d/model.json" "$d/input.csv" && mv out cpu.csv &&
        r mr predict -m "$d/model.json" --device opencl --precision single "$d/input.csv" &&
        ! cmp -s out cpu.csv || { echo "single precision output equals the double output"; return 1; }
}
t "opencl/single/differs-from-double" ocl_single_not_double

# --- selection, fallback, exit code 6 ---------------------------------------------
OCL_M="$PUB/deg3_chains/model.json"
OCL_IN="$PUB/deg3_chains/input.csv"

ocl_auto_no_platform() { # auto: silent fallback, same output
    r mr predict -m "$OCL_M" "$OCL_IN" && mv out cpu.csv
    OCL_ICD_VENDORS="$OCL_EMPTY" r mr predict -m "$OCL_M" --device auto "$OCL_IN"
    want_rc 0 && want_no_err && want_same out cpu.csv || return 1
    OCL_ICD_VENDORS="$OCL_EMPTY" r mr predict -v -m "$OCL_M" --device auto --report r.json "$OCL_IN"
    want_rc 0 && grep -q '^mars-replay: backend: cpu (--device auto fell back: no OpenCL platform' err &&
        jcheck r.json "j['backend']['requested'] == 'auto'" "j['backend']['used'] == 'cpu'" \
            "'no OpenCL platform' in j['backend']['fallback_reason']"
}
t "opencl/auto/no-platform-falls-back" ocl_auto_no_platform

ocl_explicit_no_platform() { # opencl: exit 6, one line, nothing written
    OCL_ICD_VENDORS="$OCL_EMPTY" r mr predict -m "$OCL_M" --device opencl "$OCL_IN"
    want_rc 6 && want_no_out && want_err_line '^mars-replay: device opencl: no OpenCL platform'
}
t "opencl/explicit/no-platform-exit-6" ocl_explicit_no_platform

ocl_no_loader() { # the ICD loader hidden: auto runs on the CPU, opencl exits 6
    r mr predict -m "$OCL_M" "$OCL_IN" && mv out cpu.csv
    MR_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1 r mr predict -m "$OCL_M" --device auto --threads 2 "$OCL_IN"
    want_rc 0 && want_no_err && want_same out cpu.csv || return 1
    MR_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1 r mr predict -m "$OCL_M" --device opencl "$OCL_IN"
    want_rc 6 && want_no_out && want_err_line '^mars-replay: device opencl: no OpenCL ICD loader \(.*nonexistent'
}
t "opencl/no-loader" ocl_no_loader

ocl_not_linked() { # the binary and the library do not link libOpenCL
    local f lib
    lib=$(ls "$BUILD"/src/libmarsreplay.so.* 2>/dev/null | head -1)
    for f in "$BIN" "$lib"; do
        [ -n "$f" ] || { echo "no shared library in $BUILD/src"; return 1; }
        if readelf -d "$f" | grep NEEDED | grep -qi opencl; then
            echo "$f needs libOpenCL: $(readelf -d "$f" | grep NEEDED | tr '\n' ' ')"
            return 1
        fi
    done
}
t "opencl/not-linked" ocl_not_linked

ocl_auto_cpu_device() { # auto leaves an OpenCL CPU device to the native CPU path
    if "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if any(d["auto_candidate"] for p in j["platforms"] for d in p["devices"]) else 1)' "$OCL_PROBE"; then
        r mr predict -v -m "$OCL_M" --device auto "$OCL_IN"
        want_rc 0 && grep -q '^mars-replay: backend: opencl' err
    else
        r mr predict -v -m "$OCL_M" --device auto --report r.json "$OCL_IN"
        want_rc 0 && grep -q 'fell back: no usable GPU or accelerator; the OpenCL CPU device' err &&
            jcheck r.json "j['backend']['used'] == 'cpu'"
    fi
}
t "opencl/auto/cpu-devices" ocl_auto_cpu_device

ocl_pretend() { # ocl_pretend VAR=1 ARGS...: mars-replay through the fake loader
    if [ ! -f "$OCL_PRETEND" ]; then
        : >"$W/out"
        echo "no fake OpenCL loader $OCL_PRETEND (ninja -C $BUILD tests/ocl_pretend.so)" >"$W/err"
        RC=99
        return
    fi
    local var=$1
    shift
    r env MR_OPENCL_LIBRARY="$OCL_PRETEND" "$var" timeout -k 5 120 "$BIN" "$@"
}

ocl_no_fp64() { # a device without fp64: single precision only (the fake loader hides fp64)
    r mr predict -m "$OCL_M" "$OCL_IN" && mv out cpu.csv
    ocl_pretend MR_TEST_OCL_NO_FP64=1 probe --json
    want_rc 0 && jcheck out "j['available'] is True" "len(j['platforms']) >= 1" \
        "all(not d['fp64'] and not d['usable_double'] and d['usable_single'] for p in j['platforms'] for d in p['devices'])" \
        "all('no fp64' in d['why_not'] for p in j['platforms'] for d in p['devices'])" || return 1
    ocl_pretend MR_TEST_OCL_NO_FP64=1 predict -m "$OCL_M" --device opencl "$OCL_IN"
    want_rc 6 && want_no_out && want_err_line '^mars-replay: device opencl: no usable OpenCL device \(.*no fp64 support' || return 1
    ocl_pretend MR_TEST_OCL_NO_FP64=1 predict -m "$OCL_M" --device opencl:0.0 "$OCL_IN"
    want_rc 6 && want_err_line 'device opencl:0\.0: OpenCL device 0\.0 \(.*\): no fp64 support' || return 1
    ocl_pretend MR_TEST_OCL_NO_FP64=1 predict -m "$OCL_M" --device auto "$OCL_IN"
    want_rc 0 && want_no_err && want_same out cpu.csv || return 1
    ocl_pretend MR_TEST_OCL_NO_FP64=1 predict -m "$OCL_M" --device opencl --precision single --report r.json "$OCL_IN"
    want_rc 0 && jcheck r.json "j['backend']['used'] == 'opencl'" "j['backend']['precision'] == 'single'"
}
t "opencl/no-fp64-single-only" ocl_no_fp64

ocl_pretend_plain() { # the fake loader with nothing rewritten: the device as it is
    r mr predict -m "$OCL_M" "$OCL_IN" && mv out cpu.csv
    ocl_pretend MR_TEST_OCL_NO_FP64=0 probe --json
    want_rc 0 && jcheck out "j['available'] is True" \
        "any(d['fp64'] and d['usable_double'] for p in j['platforms'] for d in p['devices'])" || return 1
    ocl_pretend MR_TEST_OCL_NO_FP64=0 predict -m "$OCL_M" --device opencl --report r.json "$OCL_IN"
    want_rc 0 && want_same out cpu.csv && jcheck r.json "j['backend']['used'] == 'opencl'" "j['backend']['precision'] == 'double'"
}
t "opencl/fake-loader-forwards" ocl_pretend_plain

ocl_auto_gpu() { # auto takes a GPU when there is one (the fake loader says PoCL's is)
    r mr predict -m "$OCL_M" "$OCL_IN" && mv out cpu.csv
    ocl_pretend MR_TEST_OCL_AS_GPU=1 probe --json
    want_rc 0 && jcheck out "any(d['auto_candidate'] and d['type'] == 'gpu' for p in j['platforms'] for d in p['devices'])" || return 1
    ocl_pretend MR_TEST_OCL_AS_GPU=1 predict -m "$OCL_M" --device auto -v --report r.json "$OCL_IN"
    want_rc 0 && want_same out cpu.csv && grep -q '^mars-replay: backend: opencl' err &&
        jcheck r.json "j['backend']['used'] == 'opencl'" "j['backend']['requested'] == 'auto'"
}
t "opencl/auto/picks-a-gpu" ocl_auto_gpu

ocl_bad_index() {
    r mr predict -m "$OCL_M" --device opencl:9.9 "$OCL_IN"
    want_rc 6 && want_no_out && want_err_line '^mars-replay: device opencl:9\.9: no OpenCL device 9\.9'
}
t "opencl/explicit/no-such-device-exit-6" ocl_bad_index

ocl_index() {
    r mr predict -m "$OCL_M" "$OCL_IN" && mv out cpu.csv
    r mr predict -m "$OCL_M" --device opencl:0.0 --report r.json "$OCL_IN"
    want_rc 0 && want_same out cpu.csv && jcheck r.json "j['backend']['device_spec'] == 'opencl:0.0'"
}
t "opencl/explicit/platform-device" ocl_index

ocl_usage() {
    r mr predict -m "$OCL_M" --device gpu "$OCL_IN"
    want_rc 2 && want_err_line "--device: expected cpu, opencl, opencl:P\.D or auto, found 'gpu'" || return 1
    r mr predict -m "$OCL_M" --device opencl:1 "$OCL_IN"
    want_rc 2 && want_err_line "--device" || return 1
    r mr predict -m "$OCL_M" --precision half "$OCL_IN"
    want_rc 2 && want_err_line "--precision: expected double or single, found 'half'"
}
t "opencl/usage" ocl_usage

# --- no hidden initialisation -------------------------------------------------------
# ld.so logs every library it loads (LD_DEBUG=libs): libOpenCL appears only with a device
ocl_no_hidden_init() {
    local what
    for what in "--help" "--version" "version" "inspect $OCL_M" \
        "predict -m $OCL_M $OCL_IN" "predict -m $OCL_M --device cpu $OCL_IN" "check -m $OCL_M $OCL_IN" \
        "design -m $OCL_M --threads 2 $OCL_IN"; do
        # shellcheck disable=SC2086
        LD_DEBUG=libs "$BIN" $what >/dev/null 2>ld.log </dev/null
        if grep -qi 'libOpenCL' ld.log; then
            echo "'$what' loaded libOpenCL"
            return 1
        fi
    done
    LD_DEBUG=libs "$BIN" predict -m "$OCL_M" --device opencl "$OCL_IN" >/dev/null 2>ld.log </dev/null
    grep -q 'libOpenCL' ld.log || { echo "the check cannot see libOpenCL being loaded with --device opencl"; return 1; }
}
t "opencl/no-hidden-init" ocl_no_hidden_init

# --- report, -v, the program-binary cache ----------------------------------------------
ocl_report() {
    r mr predict -v -m "$OCL_M" --device opencl --threads 2 --chunk-rows 40 --report r.json "$OCL_IN"
    want_rc 0 && grep -Eq '^mars-replay: backend: opencl [0-9]+\.[0-9]+ \(.+\), double precision, kernel (built|loaded from cache)' err &&
        jcheck r.json "j['backend']['requested'] == 'opencl'" "j['backend']['used'] == 'opencl'" \
            "j['backend']['fallback_reason'] is None" "j['backend']['device'] != ''" \
            "j['backend']['precision'] == 'double'" "isinstance(j['backend']['kernel_cached'], bool)" \
            "j['backend']['kernel_build_seconds'] >= 0" "j['backend']['kernel_seconds'] > 0" \
            "j['backend']['write_seconds'] > 0" "j['backend']['read_seconds'] > 0" \
            "j['backend']['batches'] >= 2" "j['backend']['bytes_to_device'] > 0" &&
        r mr predict -m "$OCL_M" --report r2.json "$OCL_IN" && jcheck r2.json "j['backend'] == {'requested': 'cpu', 'used': 'cpu', 'precision': 'double', 'fallback_reason': None}"
}
t "opencl/report-and-verbose" ocl_report

ocl_cache() { # built, then loaded; a corrupt file is rebuilt; no usable directory: just build
    local c="$W/cache" f
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --report r1.json "$OCL_IN"
    want_rc 0 && mv out first.csv && jcheck r1.json "j['backend']['kernel_cached'] is False" \
        "j['backend']['cache'].startswith('$c/mars-replay/')" || return 1
    f=$(ls "$c"/mars-replay/*.clbin) && [ "$(echo "$f" | wc -l)" = 1 ] || { echo "no single cache file: $f"; return 1; }
    [ -z "$(ls -A "$c/mars-replay" | grep -v '\.clbin$')" ] || { echo "temporary files left: $(ls -A "$c/mars-replay")"; return 1; }
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --report r2.json "$OCL_IN"
    local s1
    s1=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["backend"]["setup_seconds"])' r1.json)
    want_rc 0 && want_same out first.csv && jcheck r2.json --var s1="$s1" "j['backend']['kernel_cached'] is True" \
        "j['backend']['cache'] == j['backend']['cache']" "j['backend']['setup_seconds'] < float(s1)" || return 1
    # flip one byte of the payload: the checksum catches it, the program is rebuilt
    printf 'X' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") - 10)) conv=notrunc 2>/dev/null
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --report r3.json "$OCL_IN"
    want_rc 0 && want_same out first.csv && jcheck r3.json "j['backend']['kernel_cached'] is False" \
        "j['backend']['cache'] == '$f (replaced: checksum mismatch (corrupt))'" || return 1
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --report r4.json "$OCL_IN"
    jcheck r4.json "j['backend']['kernel_cached'] is True" || return 1
    # truncated file
    head -c 1000 "$f" >t && mv t "$f"
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --report r5.json "$OCL_IN"
    want_rc 0 && want_same out first.csv && jcheck r5.json "j['backend']['kernel_cached'] is False" \
        "'(replaced: truncated)' in j['backend']['cache']" || return 1
    # single precision is another program: another file
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --precision single "$OCL_IN"
    [ "$(ls "$c"/mars-replay/*.clbin | wc -l)" = 2 ] || { echo "single precision did not get its own cache file"; return 1; }
    # the cache directory cannot be made: the run still works
    # (a file where our directory should be; XDG_CACHE_HOME itself must stay usable:
    # PoCL keeps its own kernel cache there and fails without it)
    mkdir -p x && echo file >x/mars-replay
    XDG_CACHE_HOME="$W/x" r mr predict -m "$OCL_M" --device opencl --report r6.json "$OCL_IN"
    want_rc 0 && want_same out first.csv && jcheck r6.json "j['backend']['kernel_cached'] is False" \
        "j['backend']['cache'].startswith('built; not cached')"
}
t "opencl/cache" ocl_cache

# A cache another user could write is never read: the payload is native code
# the driver runs. Each case starts from a valid cached program, so a run that
# ignored the rule would load it (kernel_cached True).
ocl_cache_trust() {
    local c="$W/tc" d f sum
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl "$OCL_IN"
    want_rc 0 && mv out first.csv || return 1
    d="$c/mars-replay"
    f=$(ls "$d"/*.clbin) || return 1
    sum=$(cksum <"$f")
    chmod 0777 "$d" # world-writable: refused, with a warning, built from source
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --report r1.json "$OCL_IN"
    want_rc 0 && want_same out first.csv &&
        jcheck r1.json "j['backend']['kernel_cached'] is False" \
            "j['backend']['cache'] == 'untrusted, not used: $d: writable by group or others'" &&
        grep -q "^mars-replay: warning: OpenCL program cache untrusted, not used: $d: writable by group or others" err &&
        [ "$(cksum <"$f")" = "$sum" ] || { echo "world-writable: $(peek err 300)"; return 1; }
    XDG_CACHE_HOME="$c" r mr predict -q -m "$OCL_M" --device opencl "$OCL_IN" # -q: no warning
    want_rc 0 && want_no_err || return 1
    chmod 0700 "$d"
    mkdir -p sl && ln -s "$d" sl/mars-replay # a symlinked cache directory: not followed
    XDG_CACHE_HOME="$W/sl" r mr predict -m "$OCL_M" --device opencl --report r2.json "$OCL_IN"
    want_rc 0 && want_same out first.csv &&
        jcheck r2.json "j['backend']['kernel_cached'] is False" \
            "j['backend']['cache'] == 'untrusted, not used: $W/sl/mars-replay: a symbolic link (not followed)'" ||
        return 1
    # a FIFO at the cache file's name: no hang, rebuilt and replaced by a file
    rm "$f" && mkfifo "$f"
    XDG_CACHE_HOME="$c" r timeout -k 5 60 "$BIN" predict -m "$OCL_M" --device opencl --report r3.json "$OCL_IN"
    want_rc 0 && want_same out first.csv &&
        jcheck r3.json "j['backend']['kernel_cached'] is False" "'(replaced: not a regular file)' in j['backend']['cache']" &&
        [ -f "$f" ] && [ ! -p "$f" ] || return 1
    # --no-cache: nothing read (a valid file is there) and nothing written
    XDG_CACHE_HOME="$c" r mr predict -m "$OCL_M" --device opencl --no-cache --report r4.json "$OCL_IN"
    want_rc 0 && want_same out first.csv && jcheck r4.json "j['backend']['kernel_cached'] is False" \
        "j['backend']['cache'] == 'disabled'" || return 1
    mkdir nc
    XDG_CACHE_HOME="$W/nc" r mr predict -m "$OCL_M" --device opencl --no-cache "$OCL_IN"
    want_rc 0 && want_same out first.csv && [ ! -e nc/mars-replay ] || { echo "--no-cache wrote: $(ls -R nc)"; return 1; }
}
t "opencl/cache-trust" ocl_cache_trust
