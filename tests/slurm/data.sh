# data.sh — the inputs and serial outputs that tests/slurm/run.sh and tests/cluster/run.sh
# compare their distributed runs with (sourced after tests/cli/lib.sh; needs BIN).
CAT_MODEL="$PUB/categorical_strings_missing/model.json"
NUM_MODEL="$PUB/deg1_hinges/model.json"
CAT="$SHARED/cat.csv"; NUM="$SHARED/num.csv"; NUM_NPY="$SHARED/num.npy"
gen cat "$CAT" 20000 3 # quoted fields with newlines
gen num "$NUM" 100000
gen npy "$NUM_NPY" "$NUM" x0,x1,x2 '<f8'
"$BIN" predict -m "$CAT_MODEL" -@ 1 -q --keep id "$CAT" >"$SHARED/cat.want"
"$BIN" predict -m "$NUM_MODEL" -@ 1 -O npy -o "$SHARED/num.want.npy" "$NUM_NPY"
"$BIN" predict -m "$NUM_MODEL" -@ 1 "$NUM" >"$SHARED/num.want"
