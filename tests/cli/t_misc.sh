# t_misc.sh — --help, --version, command-line errors.

misc_help() { # misc_help ARGS...
    r mr "$@"
    want_rc 0 && want_no_err || return 1
    grep -q '^Usage: mars-replay \[OPTIONS\] COMMAND' "$W/out" || { echo "no usage line on stdout: $(peek "$W/out")"; return 1; }
    local o
    for o in --model --output --threads --chunk-rows --input-format --output-format --keep --unknown-level --report; do
        grep -q -- "$o" "$W/out" || { echo "help does not mention $o"; return 1; }
    done
}
t "misc/help" misc_help --help
t "misc/help-short" misc_help -h
t "misc/help-after-command" misc_help predict --help

misc_help_full() { # help or version text that cannot be written is an I/O error
    local a
    for a in --help "predict --help" --version; do
        # shellcheck disable=SC2086
        "$BIN" $a >/dev/full 2>"$W/err"
        RC=$?
        want_rc 5 || { echo "($a)"; return 1; }
    done
}
t "misc/help-to-full-device-exit-5" misc_help_full

misc_version() { # misc_version ARGS...
    local h="$ROOT/src/include/marsreplay.h" lib proj
    lib=$(sed -n 's/^#define MR_VERSION_MAJOR \([0-9]*\)/\1/p' "$h").$(sed -n 's/^#define MR_VERSION_MINOR \([0-9]*\)/\1/p' "$h").$(sed -n 's/^#define MR_VERSION_PATCH \([0-9]*\)/\1/p' "$h")
    proj=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$BUILD/meson-info/intro-projectinfo.json" 2>/dev/null) || proj=$lib
    r mr "$@"
    want_rc 0 && want_no_err || return 1
    [ "$(head -n 1 "$W/out")" = "mars-replay $proj" ] || { echo "first line '$(head -n 1 "$W/out")', expected 'mars-replay $proj'"; return 1; }
    grep -q "^libmarsreplay $lib\\b" "$W/out" || { echo "no 'libmarsreplay $lib' line: $(peek "$W/out")"; return 1; }
}
t "misc/version-option" misc_version --version
t "misc/version-command" misc_version version

misc_no_command() {
    r mr
    want_rc 2 && want_no_out || return 1
    [ "$(head -c 13 "$W/err")" = "mars-replay: " ] || { echo "stderr: $(peek "$W/err")"; return 1; }
}
t "misc/no-command" misc_no_command

misc_usage() { # misc_usage REGEX ARGS...: exit 2, nothing on stdout, the first stderr line matches
    local re=$1
    shift
    r mr "$@"
    want_rc 2 && want_no_out || return 1
    head -n 1 "$W/err" | grep -Eq -- "^mars-replay: .*$re" || { echo "stderr: $(peek "$W/err")"; return 1; }
}
t "misc/unknown-command" misc_usage "frobnicate" frobnicate
t "misc/predict-without-model" misc_usage "model" predict "$PUB/deg1_hinges/input.csv"
t "misc/two-inputs" misc_usage "unexpected argument" predict -m "$PUB/deg1_hinges/model.json" "$PUB/deg1_hinges/input.csv" "$PUB/deg1_hinges/input.csv"
t "misc/option-missing-argument" misc_usage "" predict -m

# The README's first example: what its text says the run prints (one warning,
# on purpose: 13 unseen colour labels, the first UNSEEN_LABEL at row 5)
readme_example() {
    local cmd
    cmd=$(grep -o 'build/cli/mars-replay predict [^`]*' "$ROOT/README.md" | head -1)
    [ -n "$cmd" ] || { echo "no example command in README.md"; return 1; }
    (cd "$ROOT" && eval "timeout 60 $BIN ${cmd#build/cli/mars-replay }") >"$W/out" 2>"$W/err"
    RC=$?
    want_rc 0 || return 1
    [ "$(wc -l <"$W/err")" = 1 ] || { echo "expected one warning line: $(peek "$W/err" 300)"; return 1; }
    grep -q 'column "colour": 13 unseen.*"UNSEEN_LABEL" at row 5' "$W/err" ||
        { echo "README's warning text no longer true: $(peek "$W/err" 300)"; return 1; }
    grep -q '13 `colour` labels.*UNSEEN_LABEL`, at row 5' <(tr '\n' ' ' <"$ROOT/README.md") ||
        { echo "README no longer explains the warning"; return 1; }
}
t "misc/readme-example-warning-explained" readme_example

# options may come before the command (as in git -C, samtools -@ habits)
options_before_command() {
    local M="$PUB/deg1_hinges"
    r mr -@ 2 -q predict -m "$M/model.json" "$M/input.csv"
    want_rc 0 && want_same "$W/out" "$M/expected.csv" || return 1
    r mr -m "$M/model.json" -o o.csv predict "$M/input.csv"
    want_rc 0 && want_same o.csv "$M/expected.csv" || return 1
    r mr predict -m "$M/model.json" -- "$M/input.csv"
    want_rc 0 && want_same "$W/out" "$M/expected.csv" || return 1
    r mr -q version
    want_rc 0 && grep -q '^mars-replay ' "$W/out" || return 1
    r mr -q nosuchcommand
    want_rc 2 && want_err_line "unknown command 'nosuchcommand'" || return 1
    r mr -q
    want_rc 2 && want_err_line 'no command given'
}
t "misc/options-before-the-command" options_before_command
