#!/usr/bin/env bash
# Distributed replay under mpirun: outputs byte-identical to the serial run,
# failures, the no-hidden-MPI contract (docs/distributed.md).
#
#   tests/mpi/run.sh BUILD_DIR
#   MR_MPI_ONLY=resume tests/mpi/run.sh BUILD_DIR   # only the tests whose name has it
#
# Exits 77 (meson: skipped) with a reason when mpirun is missing, the binary
# was built without MPI, or it is a TSan build (OpenMPI's own threads and
# shared-memory transport are reported, not ours). Under ASan+UBSan it runs
# with leak detection off: OpenMPI's dlopen'ed plugins leak at MPI_Finalize
# from frames LSan cannot name, so no suppression can be scoped to them;
# memory errors and UB in our code are still fatal, and the same code paths'
# leaks are checked by the cli suite's --shard tests.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../cli" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:?usage: tests/mpi/run.sh BUILD_DIR}" && pwd) || exit 2
BIN="$BUILD/cli/mars-replay"
PROBE="$BUILD/tests/mr_mpi_init_probe.so"
FAULT_SO="$BUILD/tests/mr_fault_read.so"
STALL_SO="$BUILD/tests/mr_stall_read.so"
cd "$ROOT" || exit 2

if ! command -v mpirun >/dev/null; then
    echo "SKIP mpi: mpirun not found (bash scripts/setup.sh installs openmpi-bin)"
    exit 77
fi
if ! "$BIN" --version | grep -q 'mpi'; then
    echo "SKIP mpi: $BIN was built without MPI (-Dmpi=disabled or no MPI found)"
    exit 77
fi
if ldd "$BIN" | grep -q 'libtsan'; then
    echo "SKIP mpi: TSan build (OpenMPI's own threads and shared memory are reported; run in the release and ASan builds)"
    exit 77
fi
MPI_X=()
if ldd "$BIN" | grep -q 'libasan'; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:verify_asan_link_order=0"
    MPI_X=(-x ASAN_OPTIONS -x UBSAN_OPTIONS)
fi

. "$HERE/lib.sh"
if [ -n "${MR_MPI_ONLY:-}" ]; then # t, for the tests whose name contains $MR_MPI_ONLY
    eval "t_all() $(declare -f t | tail -n +2)"
    t() { case $1 in *"$MR_MPI_ONLY"*) t_all "$@" ;; esac; }
fi

# OpenMPI: root in containers, more ranks than cores, no ptrace-based copies
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
mpir() { local n=$1; shift; timeout -k 5 120 mpirun "${MPI_X[@]}" -n "$n" --oversubscribe "$BIN" "$@"; }
# only our lines: mpirun adds its own notes about non-zero exits
ours() { grep '^mars-replay: ' "$W/err" >"$W/ours"; }
want_ours_line() { # exactly one line of ours, matching $1
    ours
    local n
    n=$(wc -l <"$W/ours")
    [ "$n" = 1 ] || { echo "expected one mars-replay line, found $n: $(peek "$W/ours" 400)"; return 1; }
    grep -Eq -- "$1" "$W/ours" || { echo "stderr does not match /$1/: $(peek "$W/ours" 300)"; return 1; }
}
no_tmp_left() { # nor the ranks' heartbeat files (the watchdog's)
    local left
    left=$(find . -maxdepth 1 \( -name '.*.tmp.*' -o -name '.*.alive.*' \) | head -3)
    [ -z "$left" ] || { echo "temporary files left: $left"; return 1; }
}

NUM="$SHARED/num.csv"; NUM_BAD="$SHARED/num_bad_rank2.csv"; NUM_NPY="$SHARED/num.npy"
NUM_NPY32="$SHARED/num32.npy"; NUM_F64="$SHARED/num.f64"; CAT="$SHARED/cat.csv"
NUM_MODEL="$PUB/deg1_hinges/model.json"; CAT_MODEL="$PUB/categorical_strings_missing/model.json"
gen num "$NUM" 100000
gen npy "$NUM_NPY" "$NUM" x0,x1,x2 '<f8'
gen npy "$NUM_NPY32" "$NUM" x0,x1,x2 '<f4'
gen f64 "$NUM_F64" "$NUM" x0,x1,x2
gen cat "$CAT" 20000 5
# row 62500 of 100000 (line 62501) is bad: inside rank 2's quarter with 4 ranks
"$PY" - "$NUM" "$NUM_BAD" <<'PYEOF'
import sys
lines = open(sys.argv[1]).read().split('\n')
f = lines[62500].split(',')
f[1] = 'bad'
lines[62500] = ','.join(f)
open(sys.argv[2], 'w').write('\n'.join(lines))
PYEOF

# same_as_serial N OUTMODE ARGS...: OUTMODE file|stdout; compare with the -@ 1 run
same_as_serial() {
    local n=$1 mode=$2
    shift 2
    r mr "$@" -@ 1 -o want.out
    want_rc 0 || { echo "serial run failed"; return 1; }
    if [ "$mode" = file ]; then
        r mpir "$n" "$@" -o got.out
        want_rc 0 && no_tmp_left || return 1
    else
        r mpir "$n" "$@"
        want_rc 0 || return 1
        mv "$W/out" got.out
    fi
    want_same got.out want.out
}

conformance_all() { # N MODE
    local d n=0
    for d in "$PUB"/*/; do
        same_as_serial "$1" "$2" predict -m "$d/model.json" "$d/input.csv" || { echo "case $(basename "$d")"; return 1; }
        n=$((n + 1))
    done
    [ "$n" -ge 10 ] || { echo "only $n cases"; return 1; }
}
for n in 1 2 3 4; do
    t "mpi/conformance/file/n=$n" conformance_all "$n" file
done
t "mpi/conformance/stdout/n=3" conformance_all 3 stdout

for n in 1 2 3 4; do
    t "mpi/csv-1e5/file/n=$n" same_as_serial "$n" file predict -m "$NUM_MODEL" "$NUM"
    t "mpi/csv-1e5/stdout/n=$n" same_as_serial "$n" stdout predict -m "$NUM_MODEL" "$NUM"
    t "mpi/csv-1e5-to-npy/file/n=$n" same_as_serial "$n" file predict -m "$NUM_MODEL" "$NUM" -O npy
    t "mpi/npy-1e5-to-npy/file/n=$n" same_as_serial "$n" file predict -m "$NUM_MODEL" "$NUM_NPY" -O npy
done
t "mpi/npy-to-npy/stdout/n=3" same_as_serial 3 stdout predict -m "$NUM_MODEL" "$NUM_NPY" -O npy
t "mpi/csv-to-npy/stdout/n=4" same_as_serial 4 stdout predict -m "$NUM_MODEL" "$NUM" -O npy
t "mpi/npy-f32-to-csv/file/n=3" same_as_serial 3 file predict -m "$NUM_MODEL" "$NUM_NPY32"
t "mpi/f64-to-f64/file/n=3" same_as_serial 3 file predict -m "$NUM_MODEL" -I f64 "$NUM_F64" -O f64
t "mpi/design-npy/file/n=4" same_as_serial 4 file design -m "$NUM_MODEL" "$NUM_NPY" -O npy
t "mpi/design-csv/stdout/n=2" same_as_serial 2 stdout design -m "$CAT_MODEL" "$CAT"
for n in 2 3 4; do
    t "mpi/csv-quoted-newlines-keep/file/n=$n" same_as_serial "$n" file predict -m "$CAT_MODEL" --keep id -q "$CAT"
done
t "mpi/threads-2-chunk-100/file/n=3" same_as_serial 3 file predict -m "$CAT_MODEL" -q --chunk-rows 100 "$CAT"
t "mpi/no-out-header/stdout/n=3" same_as_serial 3 stdout predict -m "$NUM_MODEL" --no-out-header "$NUM"
BODY="$SHARED/body.csv"; BOM="$SHARED/bom.csv"; CRLF="$SHARED/crlf.csv"
tail -n +2 "$NUM" | head -n 20000 >"$BODY"
{ printf '\xEF\xBB\xBF'; cat "$BODY"; } >"$BOM"
head -n 20001 "$NUM" | sed 's/$/\r/' >"$CRLF"
t "mpi/headerless/file/n=3" same_as_serial 3 file predict -m "$NUM_MODEL" --no-header --names-from-model "$BODY"
t "mpi/headerless-bom/stdout/n=4" same_as_serial 4 stdout predict -m "$NUM_MODEL" --no-header --names x0,x1,x2 "$BOM"
t "mpi/crlf/file/n=3" same_as_serial 3 file predict -m "$NUM_MODEL" "$CRLF"
t "mpi/max-memory/file/n=2" same_as_serial 2 file predict -m "$NUM_MODEL" --max-memory 4M "$NUM"

mpi_bad_rank2() {
    r mr predict -m "$NUM_MODEL" -@ 1 -o o.csv "$NUM_BAD"
    want_rc 4 || return 1
    local serial
    serial=$(sed 's/^mars-replay: //' "$W/err")
    printf 'old\n' >keep.csv
    r mpir 4 predict -m "$NUM_MODEL" -o keep.csv "$NUM_BAD"
    want_rc 4 && want_ours_line "^mars-replay: rank 2 of 4: .*num_bad_rank2\.csv:62501:2: column \"x1\": not a number" || return 1
    [ "$(cat "$W/ours")" = "mars-replay: rank 2 of 4: $serial" ] || { echo "'$(cat "$W/ours")' vs serial '$serial'"; return 1; }
    want_text keep.csv $'old\n' && no_tmp_left || return 1
    r mpir 4 predict -m "$NUM_MODEL" -o new.csv --report rep.json "$NUM_BAD"
    want_rc 4 && want_absent new.csv && no_tmp_left || return 1
    jcheck rep.json "j['exit_code'] == 4" "j['error']['line'] == 62501" "j['error']['row'] == 62500" \
        "'not a number' in j['error']['message']" "len(j['ranks']) == 4"
}
t "mpi/bad-row-in-rank-2-fails-the-job" mpi_bad_rank2

mpi_bad_npy_in_place() { # .npy to .npy is written in place: a bad row still leaves nothing
    "$PY" - "$NUM_NPY" bad.npy <<'PYEOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
hl = struct.unpack('<H', b[8:10])[0]
off = 10 + hl + (62500 * 3 + 1) * 8       # row 62501, column x1: rank 2 of 4
b[off:off + 8] = struct.pack('<d', float('inf'))
open(sys.argv[2], 'wb').write(bytes(b))
PYEOF
    local m="$INV/csv_inf_with_allow_missing_false/model.json"
    r mr predict -m "$m" -@ 1 -O npy -o s.npy bad.npy
    want_rc 4 || return 1
    local serial
    serial=$(sed 's/^mars-replay: //' "$W/err")
    r mpir 4 predict -m "$m" -O npy -o o.npy bad.npy
    want_rc 4 && want_ours_line 'rank 2 of 4: .*row 62501' && want_absent o.npy && no_tmp_left || return 1
    [ "$(cat "$W/ours")" = "mars-replay: rank 2 of 4: $serial" ] || { echo "'$(cat "$W/ours")' vs '$serial'"; return 1; }
}
t "mpi/bad-row-npy-in-place" mpi_bad_npy_in_place

mpi_in_place_no_spill() { # .npy to .npy needs no spill; CSV output does, and says where it failed
    r mr predict -m "$NUM_MODEL" -@ 1 -O npy -o want.npy "$NUM_NPY"
    : >notadir # the ranks' TMPDIR (not mpirun's, which needs a real one)
    local bad=(timeout -k 5 120 mpirun "${MPI_X[@]}" -x TMPDIR="$PWD/notadir" -n 3 --oversubscribe "$BIN")
    r "${bad[@]}" predict -m "$NUM_MODEL" -O npy -o got.npy "$NUM_NPY"
    want_rc 0 && want_same got.npy want.npy || return 1
    r "${bad[@]}" predict -m "$NUM_MODEL" -o got.csv "$NUM"
    want_rc 5 && want_ours_line 'rank [0-9] of 3: .*/notadir/\.mars-replay-spill\..*: cannot create' && want_absent got.csv && no_tmp_left
}
t "mpi/npy-in-place-without-spill" mpi_in_place_no_spill

mpi_bad_stdout() { # to stdout: nothing after the failing rank's part, same exit code
    r mpir 4 predict -m "$NUM_MODEL" "$NUM_BAD"
    want_rc 4 && want_ours_line 'rank 2 of 4: .*:62501:2:' || return 1
    [ "$(wc -l <"$W/out")" -le 62501 ] || { echo "$(wc -l <"$W/out") lines written past the bad row"; return 1; }
}
t "mpi/bad-row-to-stdout" mpi_bad_stdout

mpi_size1_error() { # mpirun -n 1 behaves as a plain run, messages included
    r mr predict -m "$NUM_MODEL" -@ 1 "$NUM_BAD"
    cp "$W/err" serial.err
    r mpir 1 predict -m "$NUM_MODEL" -@ 1 "$NUM_BAD"
    want_rc 4 && ours && want_same "$W/ours" serial.err
}
t "mpi/size-1-error-as-plain" mpi_size1_error

mpi_header_error() {
    r mpir 3 predict -m "$PUB/deg2_interactions_shuffled/model.json" -o o.csv "$NUM"
    want_rc 4 && want_ours_line 'rank 0 of 3: .*missing from the header' && want_absent o.csv && no_tmp_left
}
t "mpi/header-error-reported-once" mpi_header_error

mpi_model_error() {
    r mpir 3 predict -m "$INV/unknown_kind/model.json" -o o.csv "$NUM"
    want_rc 3 && want_ours_line 'rank 0 of 3: ' && want_absent o.csv
}
t "mpi/model-error" mpi_model_error

mpi_no_dir() {
    r mpir 2 predict -m "$NUM_MODEL" -o no-such-dir/o.csv "$NUM"
    want_rc 5 && want_ours_line 'no-such-dir/o\.csv'
}
t "mpi/output-directory-missing" mpi_no_dir

mpi_stdin() {
    cat "$NUM" | mpir 2 predict -m "$NUM_MODEL" - >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 2 && want_no_out && want_ours_line 'under MPI the input must be a regular file'
}
t "mpi/stdin-refused" mpi_stdin

mpi_check() {
    r mpir 3 check -m "$CAT_MODEL" -q "$CAT"
    want_rc 0 && want_no_out
}
t "mpi/check" mpi_check

mpi_warning() { # unseen-level counts and the first row: global, printed once
    r mr predict -m "$CAT_MODEL" -@ 1 -o a.csv "$CAT"
    want_rc 0 && cp "$W/err" serial.err
    r mpir 4 predict -m "$CAT_MODEL" -o b.csv "$CAT"
    want_rc 0 && ours && want_same "$W/ours" serial.err && grep -q 'unseen categorical' serial.err
}
t "mpi/unseen-level-warning-global" mpi_warning

mpi_report() {
    r mpir 3 predict -m "$NUM_MODEL" -o o.csv --report rep.json "$NUM"
    want_rc 0 && jcheck rep.json "j['rows_out'] == 100000" "len(j['ranks']) == 3" \
        "sum(k['rows'] for k in j['ranks']) == 100000" "[k['rank'] for k in j['ranks']] == [0, 1, 2]" \
        "all(k['peak_rss_bytes'] > 0 and k['seconds'] >= 0 and k['partition_seconds'] >= 0 and k['output_seconds'] > 0 for k in j['ranks'])" "j['exit_code'] == 0" \
        "j['backend']['used'] == 'cpu' and j['backend']['requested'] == 'cpu'" "j['cpu']['input_split'] is True"
}
t "mpi/report-per-rank" mpi_report

mpi_verbose_backend() { # -v says which backend ran, as a single process does
    r mpir 2 predict -v -m "$NUM_MODEL" -o o.csv "$NUM"
    want_rc 0 && grep -q '^mars-replay: backend: cpu$' "$W/err" || { echo "no backend line: $(peek "$W/err")"; return 1; }
}
t "mpi/verbose-names-backend" mpi_verbose_backend

mpi_progress() { # rank 0 alone reports, on its own part; the output does not change
    r mr predict -m "$NUM_MODEL" -@ 1 -o want.csv "$NUM"
    want_rc 0 || return 1
    r mpir 3 predict -m "$NUM_MODEL" -o o.csv --progress "$NUM"
    want_rc 0 && want_same o.csv want.csv || return 1
    ours
    grep -Eq '^mars-replay: rank 0 of 3 \(its part\): [0-9]+ rows, [0-9]+ rows/s, 100%$' "$W/ours" ||
        { echo "no final progress line of rank 0: $(peek "$W/ours" 300)"; return 1; }
    if grep -v '^mars-replay: rank 0 of 3 (its part): ' "$W/ours" | grep -q .; then
        echo "other progress lines: $(peek "$W/ours" 300)"; return 1
    fi
}
t "mpi/progress-rank-0" mpi_progress

mpi_more_ranks_than_rows() {
    same_as_serial 4 file predict -m "$NUM_MODEL" "$PUB/deg1_hinges/input.csv" &&
        printf 'x0,x1,x2\n1,2,3\n' >one.csv && same_as_serial 4 file predict -m "$NUM_MODEL" one.csv
}
t "mpi/more-ranks-than-rows" mpi_more_ranks_than_rows

mpi_rank_dies() { # rank 1 killed mid-job: the job fails, nothing that looks like a result
    [ -f "$FAULT_SO" ] || { echo "no shim $FAULT_SO"; return 1; }
    printf 'old\n' >keep.csv
    r timeout -k 5 120 mpirun "${MPI_X[@]}" -n 3 --oversubscribe -x LD_PRELOAD="$FAULT_SO" \
        -x MR_TEST_READ_PATH=num.csv -x MR_TEST_KILL_RANK=1 -x MR_TEST_KILL_AT=3 \
        "$BIN" predict -m "$NUM_MODEL" -o keep.csv "$NUM"
    [ "$RC" != 0 ] || { echo "the job succeeded"; return 1; }
    grep -q 'signal 9' "$W/err" || { echo "rank 1 was not killed: $(peek "$W/err" 300)"; return 1; }
    want_text keep.csv $'old\n' && no_tmp_left
}
t "mpi/rank-killed-leaves-no-output" mpi_rank_dies

mpi_input_grows() { # the input grows during the job (each rank's 2nd read appends): exit 5, no output
    [ -f "$FAULT_SO" ] || { echo "no shim $FAULT_SO"; return 1; }
    cp "$NUM" grow.csv
    r timeout -k 5 120 mpirun "${MPI_X[@]}" -n 3 --oversubscribe -x LD_PRELOAD="$FAULT_SO" \
        -x MR_TEST_READ_PATH=grow.csv -x MR_TEST_APPEND_AT=2 \
        "$BIN" predict -m "$NUM_MODEL" -o out.csv grow.csv
    want_rc 5 && want_absent out.csv && no_tmp_left &&
        grep -q 'grow\.csv: the input changed during the run' "$W/err" || { echo "stderr: $(peek "$W/err" 300)"; return 1; }
}
t "mpi/input-grows-fails" mpi_input_grows

# No hidden MPI: a plain run never calls MPI_Init; --mpi does (the probe works)
mpi_no_hidden() {
    [ -f "$PROBE" ] || { echo "no probe $PROBE"; return 1; }
    (unset OMPI_COMM_WORLD_SIZE PMIX_RANK PMI_RANK PMI_FD SLURM_STEP_NUM_TASKS
     MR_TEST_MPI_MARKER="$PWD/marker" LD_PRELOAD="$PROBE" timeout -k 5 60 "$BIN" predict -m "$NUM_MODEL" "$NUM" >plain.out 2>plain.err) || {
        echo "plain run failed: $(peek plain.err)"; return 1; }
    want_absent marker || { echo "a plain run called MPI_Init"; return 1; }
    (unset OMPI_COMM_WORLD_SIZE PMIX_RANK PMI_RANK PMI_FD SLURM_STEP_NUM_TASKS
     MR_TEST_MPI_MARKER="$PWD/marker" LD_PRELOAD="$PROBE" timeout -k 5 60 "$BIN" predict --mpi -m "$NUM_MODEL" "$NUM" >mpi.out 2>mpi.err) || {
        echo "--mpi run failed: $(peek mpi.err)"; return 1; }
    want_exists marker && want_same mpi.out plain.out || return 1
    # a plain run does not even map libmpi: the MPI driver is a module loaded on demand
    (unset OMPI_COMM_WORLD_SIZE PMIX_RANK PMI_RANK PMI_FD SLURM_STEP_NUM_TASKS
     LD_DEBUG=files timeout -k 5 60 "$BIN" predict -m "$NUM_MODEL" "$NUM" 2>ld.log >/dev/null)
    grep -q 'libmpi' ld.log && { echo "a plain run loaded libmpi"; return 1; }
    grep -q 'file=libjansson' ld.log || { echo "LD_DEBUG shows no libraries at all: $(head -c 200 ld.log)"; return 1; }
}
t "mpi/plain-run-never-initialises-mpi" mpi_no_hidden

mpi_module_missing() { # the module cannot be found: one line, status 7
    MARS_REPLAY_MPI_MODULE=/nonexistent/mars-replay-mpi.so r mr predict --mpi -m "$NUM_MODEL" "$NUM"
    want_rc 7 && want_no_out && want_err_line 'cannot load the MPI module'
}
t "mpi/module-missing" mpi_module_missing

# mpirun as a plain launcher of different commands: refused, not merged into
# one job (each rank's own input and output would otherwise be cut up)
mpi_separate_commands() {
    head -n 301 "$NUM" >part0.csv; { head -n 1 "$NUM"; sed -n 302,500p "$NUM"; } >part1.csv
    { head -n 1 "$NUM"; sed -n 501,900p "$NUM"; } >part2.csv
    local cmd="\"$BIN\" predict -m \"$NUM_MODEL\" part\$OMPI_COMM_WORLD_RANK.csv -o out\$OMPI_COMM_WORLD_RANK.csv"
    r timeout -k 5 120 mpirun "${MPI_X[@]}" -n 3 --oversubscribe bash -c "$cmd"
    [ "$RC" != 0 ] || { echo "separate commands were merged into one job (exit 0)"; return 1; }
    grep -q 'differs from rank 0.*--no-mpi' "$W/err" || { echo "no --no-mpi hint: $(peek "$W/err" 300)"; return 1; }
    grep '^mars-replay: ' "$W/err" | grep -qv 'rank' && { echo "an error line without its rank"; return 1; }
    local i
    for i in 0 1 2; do
        [ ! -e "out$i.csv" ] || { echo "out$i.csv was written"; return 1; }
    done
    no_tmp_left || return 1
    # --no-mpi: every rank is its own process, with its own input and output
    r timeout -k 5 120 mpirun "${MPI_X[@]}" -n 3 --oversubscribe bash -c "$cmd --no-mpi"
    want_rc 0 || return 1
    for i in 0 1 2; do
        r mr predict -m "$NUM_MODEL" -@ 1 -o "want$i.csv" "part$i.csv"
        want_rc 0 && want_same "out$i.csv" "want$i.csv" || return 1
    done
    r mr predict --mpi --no-mpi -m "$NUM_MODEL" part0.csv
    want_rc 2
}
t "mpi/separate-commands-refused-no-mpi-runs-each" mpi_separate_commands

# A reader that closes the pipe early (| head). OpenMPI's mpirun (ORTE) aborts
# the whole job after 10 SIGPIPEs on the stdout it forwards, and on this
# version its abort path itself segfaults (exit 139, a backtrace of mpirun,
# libpmix). The ranks never see the closed pipe: mpirun holds it. So:
# (1) the forms docs/distributed.md recommends end with every rank's exit 0,
# recorded by a wrapper around each rank; (2) the bare form, whatever mpirun
# does, shows the right first lines and no error, crash or signal of ours.
mpi_closed_pipe() {
    local want
    r mr predict -m "$NUM_MODEL" -@ 1 "$NUM"
    want_rc 0 && head -n 3 "$W/out" >want.head || return 1
    # (1a) a reader that keeps draining after head
    timeout -k 5 120 mpirun "${MPI_X[@]}" -n 3 --oversubscribe bash -c \
        '"$0" predict -m "$1" "$2"; echo $? >"st.$OMPI_COMM_WORLD_RANK"' "$BIN" "$NUM_MODEL" "$NUM" 2>err |
        { head -n 3 >got.head; cat >/dev/null; }
    RC=${PIPESTATUS[0]}
    want_rc 0 && want_same got.head want.head || return 1
    for k in 0 1 2; do
        [ "$(cat "st.$k" 2>/dev/null)" = 0 ] || { echo "rank $k: exit '$(cat "st.$k" 2>/dev/null)'"; return 1; }
    done
    # (1b) -o FILE, then head
    r mpir 3 predict -m "$NUM_MODEL" "$NUM" -o o.csv
    want_rc 0 && head -n 3 o.csv >got2.head && want_same got2.head want.head || return 1
    # (2) the bare pipe
    timeout -k 5 120 mpirun "${MPI_X[@]}" -n 3 --oversubscribe "$BIN" predict -m "$NUM_MODEL" "$NUM" 2>err | head -n 3 >got3.head
    RC=${PIPESTATUS[0]}
    [ "$RC" != 124 ] && [ "$RC" != 137 ] || { echo "mpirun hung (exit $RC)"; return 1; }
    want_same got3.head want.head || return 1
    if grep -q '^mars-replay: ' err || grep -Eq 'exited on signal|mars-replay\(' err; then
        echo "a rank of ours failed (mpirun exit $RC): $(grep -E '^mars-replay: |exited on signal|mars-replay\(' err | head -3 | tr '\n' ' ')"
        return 1
    fi
    echo "mpirun exit $RC with | head (OpenMPI's own behaviour: docs/distributed.md)" >&2
}
t "mpi/closed-pipe" mpi_closed_pipe

# ---- --resume under MPI: every rank journals its own part ----
RS_BIG="$SHARED/resume_1e6.csv"; RS_NPY="$SHARED/resume_1e6.npy"
gen num "$RS_BIG" 1000000 && gen npy "$RS_NPY" "$RS_BIG" x0,x1,x2 '<f8' || echo "resume: cannot generate the 1e6-row inputs" >&2
"$BIN" predict -m "$NUM_MODEL" -o "$SHARED/resume_ref.csv" "$RS_BIG"
"$BIN" predict -m "$NUM_MODEL" -o "$SHARED/resume_ref.npy" -O npy "$RS_BIG"
"$BIN" predict -m "$NUM_MODEL" -o "$SHARED/resume_ref_npyin.f64" -O f64 "$RS_NPY"

# the job in a session of its own: mpirun and every rank (OpenMPI gives each rank its own
# process group, so only the session holds them all)
# (from /proc: a bare machine has no procps; /proc/PID/stat is "pid (comm) state ppid pgrp session ...")
rs_ranks() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v sid="$1" '$2 == "(mars-replay)" && $6 == sid { print $1 }'; }
# rs_start N ARGS...: start mpirun -n N ARGS --resume in its own session; its pid in $JOB
rs_start() {
    local n=$1
    shift
    setsid timeout -k 5 120 mpirun "${MPI_X[@]}" -n "$n" --oversubscribe "$BIN" "$@" --resume \
        >/dev/null 2>"$W/killed.err" </dev/null &
    JOB=$!
}
# rs_parts_open N OUT: wait until every rank has its part file (its signal handlers are set)
rs_parts_open() {
    local n=$1 out=$2 i k ok
    for ((i = 0; i < 2000; i++)); do
        ok=1
        [ -e ".$out.resume" ] || ok=0
        for ((k = 1; k < n; k++)); do [ -e ".$out.rank-$k.resume" ] || ok=0; done
        [ "$ok" = 1 ] && return 0
        sleep 0.005
    done
    echo "the ranks' part files did not appear: $(ls -A | tr '\n' ' ')"
    return 1
}
rs_wait() { wait "$JOB"; RC=$?; }
rs_left() { # nothing of a --resume run is left beside the output
    local left
    left=$(find . -maxdepth 1 -name '.*.resume*' -o -maxdepth 1 -name '.*.alive.*' | head -5 | tr '\n' ' ')
    [ -z "$left" ] || { echo "left: $left"; return 1; }
}

# How long an uninterrupted job works here once its parts are open (ms): the kills fall inside
# that window, so that most of them find journals to resume from.
mkdir -p "$SHARED/timing"
(cd "$SHARED/timing" && W=$PWD && rs_start 3 predict -m "$NUM_MODEL" -@ 1 --resume-every 256K -o out.csv "$RS_BIG" &&
    rs_parts_open 3 out.csv >/dev/null && t1=$(date +%s%N) && rs_wait && echo $((($(date +%s%N) - t1) / 1000000)) >ms)
RS_MS=$(cat "$SHARED/timing/ms" 2>/dev/null || echo 0)
[ "$RS_MS" -ge 100 ] || RS_MS=100

# kill -9 of the whole job (mpirun and every rank, as a lost allocation) at N random instants
# (a fixed seed), then --resume with the same ranks: the output of an uninterrupted run
mpi_resume_kill9() { # RANKS KILLS SEED
    local n=$1 kills=$2 i ms resumed=0 off
    RANDOM=$3
    for ((i = 0; i < kills; i++)); do
        ms=$((RANDOM % RS_MS))
        rs_start "$n" predict -m "$NUM_MODEL" -@ 1 --resume-every 256K -o out.csv "$RS_BIG"
        rs_parts_open "$n" out.csv || { kill -9 $(rs_ranks "$JOB") "$JOB"; return 1; }
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        kill -9 $(rs_ranks "$JOB") "$JOB" 2>/dev/null
        rs_wait
        if [ -e out.csv ]; then # renamed before the kill: complete; a kill while the ranks were
            want_same out.csv "$SHARED/resume_ref.csv" || return 1 # removing their parts leaves
            if rs_left >/dev/null; then # them, and a rerun replaces the output and removes them
                rm -f out.csv
                continue
            fi
        fi
        # rank 0's journal describes a prefix of its part, the output's start
        if [ -e .out.csv.resume.journal ]; then
            off=$(awk '$1 == "at" { print $5 }' .out.csv.resume.journal)
            cmp -s -n "$off" .out.csv.resume "$SHARED/resume_ref.csv" || { echo "kill $i at $ms ms: rank 0's journal ($off bytes) is not a prefix of the output"; return 1; }
        fi
        r mpir "$n" predict -m "$NUM_MODEL" -@ 1 -o out.csv --resume "$RS_BIG"
        want_rc 0 || { echo "resume $i (killed at $ms ms)"; return 1; }
        grep -q "resuming: [1-9][0-9]* of $n ranks continue their parts" "$W/err" && resumed=$((resumed + 1))
        want_same out.csv "$SHARED/resume_ref.csv" && rs_left || { echo "resume $i (killed at $ms ms)"; return 1; }
        rm -f out.csv
    done
    [ "$resumed" -ge $((kills / 3)) ] || { echo "only $resumed of $kills jobs resumed (a job: $RS_MS ms)"; return 1; }
    echo "    | $resumed of $kills killed jobs resumed (kills within $RS_MS ms)"
}
t "mpi/resume/kill9-8-instants/n=2" mpi_resume_kill9 2 8 1515
t "mpi/resume/kill9-8-instants/n=3" mpi_resume_kill9 3 8 4242

# rs_stop N INPUT ARGS...: mpirun -n N ARGS --resume, every rank held in the middle of its part
# (stall_read.c) and sent SIGTERM there: the job must stop resumably (143)
rs_stop() {
    local n=$1 input=$2 i
    shift 2
    [ -f "$STALL_SO" ] || { echo "no shim $STALL_SO"; return 1; }
    mkdir -p st
    setsid timeout -k 5 120 mpirun "${MPI_X[@]}" -n "$n" --oversubscribe -x LD_PRELOAD="$STALL_SO" \
        -x MR_TEST_STALL_PATH="$(basename "$input")" -x MR_TEST_STALL_DIR="$PWD/st" -x MR_TEST_STALL_AT=6 \
        "$BIN" "$@" --chunk-rows 20000 --resume >/dev/null 2>"$W/killed.err" </dev/null &
    JOB=$!
    for ((i = 0; i < 600; i++)); do [ "$(ls st | wc -l)" -ge "$n" ] && break; sleep 0.05; done
    [ "$(ls st | wc -l)" -ge "$n" ] || { kill -9 $(rs_ranks "$JOB") "$JOB"; echo "the ranks did not all reach their part: $(ls st)"; return 1; }
    kill -TERM $(rs_ranks "$JOB")
    touch st/go
    rs_wait
    rm -rf st
    [ "$RC" = 143 ] || { echo "stopped job: status $RC, expected 143: $(peek "$W/killed.err" 400)"; return 1; }
}

# SIGTERM to every rank (what Slurm does at preemption): each stops at its next commit, the
# job exits 143 with one line, every part and journal is kept; the rerun resumes each part
mpi_resume_sigterm() { # RANKS FORMAT REF INPUT ARGS...
    local n=$1 fmt=$2 ref=$3 input=$4
    shift 4
    rs_stop "$n" "$input" predict -m "$NUM_MODEL" -@ 1 --resume-every 64K -O "$fmt" -o "out.$fmt" "$@" "$input" || return 1
    grep '^mars-replay: ' "$W/killed.err" >ours
    [ "$(wc -l <ours)" = 1 ] && grep -Eq "^mars-replay: rank [0-9] of $n: out\.$fmt: stopped by signal 15 after [0-9]+ commits?: rerun with --resume" ours ||
        { echo "stderr: $(peek ours 400)"; return 1; }
    want_absent "out.$fmt" && want_exists ".out.$fmt.resume.journal" && want_exists ".out.$fmt.rank-$((n - 1)).resume.journal" || return 1
    r mpir "$n" predict -m "$NUM_MODEL" -O "$fmt" -o "out.$fmt" "$@" --resume "$input"
    want_rc 0 && want_ours_line "^mars-replay: out\.$fmt: resuming: $n of $n ranks continue their parts \([1-9][0-9]* rows" || return 1
    want_same "out.$fmt" "$ref" && rs_left
}
t "mpi/resume/sigterm-csv/n=3" mpi_resume_sigterm 3 csv "$SHARED/resume_ref.csv" "$RS_BIG"
t "mpi/resume/sigterm-csv-to-npy/n=2" mpi_resume_sigterm 2 npy "$SHARED/resume_ref.npy" "$RS_BIG"
t "mpi/resume/sigterm-npy-to-f64/n=3" mpi_resume_sigterm 3 f64 "$SHARED/resume_ref_npyin.f64" "$RS_NPY"

# stopped with one rank count, rerun with another: cannot resume (one line, why), starts over,
# and no part of the earlier job is left
mpi_resume_ranks_changed() { # RANKS_BEFORE RANKS_AFTER (1: a plain process)
    local a=$1 b=$2
    rs_stop "$a" "$RS_BIG" predict -m "$NUM_MODEL" -@ 1 --resume-every 64K -o out.csv "$RS_BIG" || return 1
    if [ "$b" = 1 ]; then
        r mr predict -m "$NUM_MODEL" -o out.csv --resume "$RS_BIG"
    else
        r mpir "$b" predict -m "$NUM_MODEL" -o out.csv --resume "$RS_BIG"
    fi
    want_rc 0 && want_ours_line "out\.csv: cannot resume: it was written by a job of $a parts, this one has $b \(another MPI rank count or --shard N\); starting over" || return 1
    want_same out.csv "$SHARED/resume_ref.csv" && rs_left
}
t "mpi/resume/ranks-3-then-2-restarts" mpi_resume_ranks_changed 3 2
t "mpi/resume/ranks-2-then-4-restarts" mpi_resume_ranks_changed 2 4
t "mpi/resume/ranks-3-then-one-process-restarts" mpi_resume_ranks_changed 3 1

# a journal of another model: refused by the first rank, the job starts over
mpi_resume_model_changed() {
    rs_stop 3 "$RS_BIG" predict -m "$NUM_MODEL" -@ 1 --resume-every 64K -o out.csv "$RS_BIG" || return 1
    { cat "$NUM_MODEL"; echo ' '; } >model.json # the same predictions, another sha256
    r mpir 3 predict -m model.json -o out.csv --resume "$RS_BIG"
    want_rc 0 && want_ours_line '^mars-replay: rank 0 of 3: out\.csv: cannot resume: the model is not the same \(sha256\); starting over$' || return 1
    want_same out.csv "$SHARED/resume_ref.csv" && rs_left
}
t "mpi/resume/model-changed-restarts" mpi_resume_model_changed

mpi_resume_bad_data() { # bad data in rank 2's part: exit 4, every part and journal removed
    r mpir 4 predict -m "$NUM_MODEL" --resume --resume-every 1K -o out.csv "$NUM_BAD"
    want_rc 4 && want_ours_line '^mars-replay: rank 2 of 4: .*:62501:2: ' && want_absent out.csv && rs_left
}
t "mpi/resume/bad-data-leaves-nothing" mpi_resume_bad_data

mpi_resume_usage() { # stdout: refused on every rank before anything is written
    r mpir 2 predict -m "$NUM_MODEL" --resume "$NUM"
    want_rc 2 && want_ours_line 'needs -o FILE' && want_no_out
}
t "mpi/resume/usage-stdout" mpi_resume_usage

# ---- the watchdog: a rank that stops fails the job within --peer-timeout, naming it ----
# pid_of_rank JOB K: the pid of rank K of the job started by rs_start/peer_start
pid_of_rank() {
    local p
    for p in $(rs_ranks "$1"); do
        grep -qz "^OMPI_COMM_WORLD_RANK=$2\$" "/proc/$p/environ" 2>/dev/null && echo "$p"
    done
}
# peer_stop SIG INPUT ARGS...: mpirun -n 3 ARGS, every rank held at its $STALL_AT-th (default
# 6th) read of INPUT (stall_read.c); rank 1 gets SIG there, then the others go on (into
# waiting for it)
peer_stop() {
    local sig=$1 input=$2 i p
    shift 2
    [ -f "$STALL_SO" ] || { echo "no shim $STALL_SO"; return 1; }
    mkdir -p st
    setsid timeout -k 5 120 mpirun "${MPI_X[@]}" -n 3 --oversubscribe -x LD_PRELOAD="$STALL_SO" \
        -x MR_TEST_STALL_PATH="$(basename "$input")" -x MR_TEST_STALL_DIR="$PWD/st" -x MR_TEST_STALL_AT="${STALL_AT:-6}" \
        "$BIN" "$@" >/dev/null 2>"$W/err" </dev/null &
    JOB=$!
    for ((i = 0; i < 600; i++)); do [ "$(ls st | wc -l)" -ge 3 ] && break; sleep 0.05; done
    p=$(pid_of_rank "$JOB" 1)
    [ "$(ls st | wc -l)" -ge 3 ] && [ -n "$p" ] || { kill -9 $(rs_ranks "$JOB") "$JOB"; echo "the ranks did not all reach their part: $(ls st)"; return 1; }
    T0=$(date +%s)
    kill -s "$sig" "$p"
    touch st/go
    rs_wait
    T1=$(date +%s)
    rm -rf st
}

# rank 1 frozen (SIGSTOP: a node that stopped answering): without the watchdog the others wait
# in MPI for ever; with --peer-timeout 3 rank 2 says so within seconds, exit 8, no output
peer_frozen() {
    printf 'old\n' >keep.csv
    peer_stop STOP "$RS_BIG" predict -m "$NUM_MODEL" -@ 1 --peer-timeout 3 -o keep.csv "$RS_BIG" || return 1
    want_rc 8 && want_ours_line '^mars-replay: rank 1 of 3 on [^ ]+ stopped \(no heartbeat for 3 s\): the job fails, no output written$' || return 1
    [ $((T1 - T0)) -le 20 ] || { echo "detected after $((T1 - T0)) s"; return 1; }
    want_text keep.csv $'old\n' && no_tmp_left
}
t "mpi/watchdog/rank-frozen-fails-naming-it" peer_frozen

# the same under --resume, held inside the replay (.npy input: no CSV scan before it; the
# journal's hash of the first MiB takes 16 reads): the parts and journals stay, and the rerun
# continues them
peer_frozen_resume() {
    STALL_AT=24 peer_stop STOP "$RS_NPY" predict -m "$NUM_MODEL" -@ 1 --peer-timeout 3 --resume --resume-every 64K --chunk-rows 20000 -O f64 -o out.f64 "$RS_NPY" || return 1
    want_rc 8 && want_ours_line '^mars-replay: rank 1 of 3 on [^ ]+ stopped \(no heartbeat for 3 s\): the job fails, its parts and journals are kept: rerun with --resume to continue$' || return 1
    want_absent out.f64 && no_tmp_left && want_exists .out.f64.rank-2.resume.journal || return 1
    r mpir 3 predict -m "$NUM_MODEL" -O f64 -o out.f64 --resume "$RS_NPY"
    want_rc 0 && want_ours_line 'resuming: [23] of 3 ranks continue their parts' && want_same out.f64 "$SHARED/resume_ref_npyin.f64" && rs_left
}
t "mpi/watchdog/rank-frozen-resume-then-rerun" peer_frozen_resume

# rank 1 killed: mpirun sees it first and ends the job (its message names the rank and node);
# no output, and no heartbeat file left (the killed rank's is removed by the rank watching it)
peer_killed() {
    printf 'old\n' >keep.csv
    peer_stop KILL "$RS_BIG" predict -m "$NUM_MODEL" -@ 1 --peer-timeout 3 -o keep.csv "$RS_BIG" || return 1
    [ "$RC" != 0 ] || { echo "the job succeeded"; return 1; }
    grep -Eq 'rank 1 .*(exited on signal 9|stopped \(no heartbeat)' "$W/err" || { echo "stderr: $(peek "$W/err" 400)"; return 1; }
    want_text keep.csv $'old\n' && no_tmp_left
}
t "mpi/watchdog/rank-killed-no-output-no-heartbeat-left" peer_killed

peer_timeout_usage() {
    r mr predict -m "$NUM_MODEL" --peer-timeout soon -o x.csv "$NUM"
    want_rc 2 && want_err_line 'peer-timeout: expected a whole number of seconds' && want_absent x.csv
}
t "mpi/watchdog/usage" peer_timeout_usage

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
