# t_csv.sh — CSV dialects and options. Reference: the first 10 rows of deg1_hinges
# (model columns x0,x1,x2; allow_missing false) and of missingness_terms
# (columns x0,note,x2,x1; allow_missing true).

CSV_MODEL="$PUB/deg1_hinges/model.json"
CSV_IN="$SHARED/csv_in.csv"
CSV_WANT="$SHARED/csv_want.csv"
head -n 11 "$PUB/deg1_hinges/input.csv" >"$CSV_IN"
head -n 11 "$PUB/deg1_hinges/expected.csv" >"$CSV_WANT"
MISS_MODEL="$PUB/missingness_terms/model.json"
CLI_FIX="$ROOT/fixtures/cli" # small hand-made inputs (see its README.md)

# csv_same FILE OPTIONS...: predictions for FILE (made in $W) == the reference
csv_same() {
    local f=$1
    shift
    r mr predict -m "$CSV_MODEL" "$@" "$f"
    want_rc 0 && want_no_err && want_same "$W/out" "$CSV_WANT"
}

csv_crlf() { sed 's/$/\r/' "$CSV_IN" >in.csv && csv_same in.csv; }
t "csv/crlf-line-endings" csv_crlf

# the rows are scored, and one warning says the last one has no line end
csv_same_unterminated() {
    r mr predict -m "$CSV_MODEL" --report rep.json "$1"
    want_rc 0 && want_same "$W/out" "$CSV_WANT" &&
        want_err_line 'warning: .*: the last record \(row 10\) has no line end: was the input cut short\?' &&
        jcheck rep.json "j['last_record_unterminated'] is True"
}
csv_crlf_no_final() { sed 's/$/\r/' "$CSV_IN" | head -c -2 >in.csv && csv_same_unterminated in.csv; }
t "csv/crlf-no-final-newline" csv_crlf_no_final

csv_bom() { { printf '\xef\xbb\xbf'; cat "$CSV_IN"; } >in.csv && csv_same in.csv; }
t "csv/utf8-bom" csv_bom

csv_no_final_newline() { csv_same_unterminated "$CLI_FIX/no_final_newline.csv"; } # = $CSV_IN less its last byte
t "csv/no-trailing-newline" csv_no_final_newline

csv_final_newline_quiet() { # -q silences the warning; with a line end there is none
    r mr predict -q -m "$CSV_MODEL" "$CLI_FIX/no_final_newline.csv"
    want_rc 0 && want_no_err && want_same "$W/out" "$CSV_WANT" || return 1
    r mr predict -m "$CSV_MODEL" --report rep.json "$CSV_IN"
    want_rc 0 && want_no_err && jcheck rep.json "j['last_record_unterminated'] is False"
}
t "csv/no-trailing-newline-quiet" csv_final_newline_quiet

csv_no_final_newline_2() {
    head -n 3 "$CSV_WANT" >want
    r mr predict -m "$CSV_MODEL" "$CLI_FIX/no_final_newline_2rows.csv"
    want_rc 0 && want_same "$W/out" want
}
t "csv/no-trailing-newline-2-rows" csv_no_final_newline_2

csv_no_final_newline_stdin() {
    rin "$CLI_FIX/no_final_newline.csv" mr predict -m "$CSV_MODEL" -
    want_rc 0 && want_same "$W/out" "$CSV_WANT"
}
t "csv/no-trailing-newline-stdin" csv_no_final_newline_stdin

csv_semicolon() { tr ',' ';' <"$CSV_IN" >in.csv && csv_same in.csv --delimiter ';'; }
t "csv/delimiter-semicolon" csv_semicolon

csv_tab() { tr ',' '\t' <"$CSV_IN" >in.csv && csv_same in.csv -d "$(printf '\t')"; }
t "csv/delimiter-tab-character" csv_tab

csv_tab_escape() { tr ',' '\t' <"$CSV_IN" >in.csv && csv_same in.csv -d '\t'; }
t "csv/delimiter-tab-backslash-t" csv_tab_escape

csv_wrong_delimiter() { # semicolons without --delimiter: one column "x0;x1;x2", x0 is missing
    tr ',' ';' <"$CSV_IN" >in.csv
    r mr predict -m "$CSV_MODEL" in.csv
    want_rc 4 && want_no_out && want_err_line 'x0'
}
t "csv/delimiter-not-given" csv_wrong_delimiter

csv_quoted_header() { sed '1s/.*/"x0","x1","x2"/' "$CSV_IN" >in.csv && csv_same in.csv; }
t "csv/quoted-header-names" csv_quoted_header

csv_quoted_values() { sed '2,$s/^\([^,]*\),\([^,]*\),/"\1",\2,"/; 2,$s/$/"/' "$CSV_IN" >in.csv && csv_same in.csv; }
t "csv/quoted-values" csv_quoted_values

csv_names_from_model() { tail -n +2 "$CSV_IN" >in.csv && csv_same in.csv --no-header --names-from-model; }
t "csv/no-header-names-from-model" csv_names_from_model

csv_names() { # --names in another order than the model's
    tail -n +2 "$CSV_IN" | awk -F, -v OFS=, '{print $3,$1,$2}' >in.csv && csv_same in.csv --no-header --names x2,x0,x1
}
t "csv/no-header-names" csv_names

csv_names_wrong_count() {
    tail -n +2 "$CSV_IN" >in.csv
    r mr predict -m "$CSV_MODEL" --no-header --names x0,x1 in.csv
    want_rc 4 && want_no_out && want_err_line
}
t "csv/no-header-names-missing-feature" csv_names_wrong_count

csv_no_header_alone() {
    tail -n +2 "$CSV_IN" >in.csv
    r mr predict -m "$CSV_MODEL" --no-header in.csv
    [ "$RC" = 2 ] || [ "$RC" = 4 ] || { echo "exit status $RC, expected 2 (or 4)"; return 1; }
    want_no_out && want_err_line 'names'
}
t "csv/no-header-without-names-refused" csv_no_header_alone

csv_reordered() { awk -F, -v OFS=, '{print $3,$1,$2}' "$CSV_IN" >in.csv && csv_same in.csv; }
t "csv/columns-in-another-order" csv_reordered

csv_extra_cols() { # extra columns are never parsed: junk in them is fine
    awk -F, -v OFS=, 'NR==1{print "a",$2,"b",$1,$3,"c"} NR>1{print "junk",$2,"NA",$1,$3,"0x1p3"}' "$CSV_IN" >in.csv && csv_same in.csv
}
t "csv/extra-columns-ignored" csv_extra_cols

csv_empty_line() {
    { head -n 4 "$CSV_IN"; echo; tail -n +5 "$CSV_IN"; } >in.csv
    r mr predict -m "$CSV_MODEL" in.csv
    want_rc 4 && want_err_line 'in\.csv:5[:]'
}
t "csv/empty-line-is-a-ragged-row" csv_empty_line

csv_empty_line_one_col() { # one column: an empty line is a row with a missing value
    r mr predict -m "$PUB/fixture_missingness/model.json" "$CLI_FIX/empty_line_one_column.csv"
    want_rc 0 || return 1
    mv "$W/out" got
    r mr predict -m "$PUB/fixture_missingness/model.json" "$CLI_FIX/empty_line_one_column_ref.csv"
    want_rc 0 && want_same got "$W/out" || return 1
    [ "$(wc -l <got)" = 4 ] || { echo "$(wc -l <got) lines, expected 4"; return 1; }
}
t "csv/empty-line-is-a-row-single-column" csv_empty_line_one_col

csv_header_only() { # csv_header_only MODE HEADER-TEXT
    printf '%s' "$2" >in.csv
    r mr "$1" -m "$CSV_MODEL" in.csv
    want_rc 0 && want_no_err || return 1
    local want
    if [ "$1" = predict ]; then
        want=prediction
    else
        want=$(mr inspect --json "$CSV_MODEL" | "$PY" -c 'import json,sys; print(",".join(t["name"] for t in json.load(sys.stdin)["terms"]))')
    fi
    want_text "$W/out" "$want"$'\n'
}
t "csv/header-only" csv_header_only predict $'x0,x1,x2\n'
t "csv/header-only-no-newline" csv_header_only predict 'x0,x1,x2'
t "csv/header-only-design" csv_header_only design $'x0,x1,x2\n'

csv_na_col() { # --na-col x0=-999,NA: -999 is missing in x0 only
    local in="$CLI_FIX/na_col.csv"
    r mr predict -m "$MISS_MODEL" "$CLI_FIX/na_col_ref.csv"
    want_rc 0 || return 1
    mv "$W/out" want
    r mr predict -m "$MISS_MODEL" --na-col 'x0=-999,NA' "$in"
    want_rc 0 && want_same "$W/out" want || return 1
    r mr predict -m "$MISS_MODEL" "$in" # without the option -999 is a number
    want_rc 0 || return 1
    ! cmp -s "$W/out" want || { echo "-999 in x0 gives the missing-value prediction without --na-col"; return 1; }
}
t "csv/na-col" csv_na_col

csv_na_col_bad() {
    r mr predict -m "$MISS_MODEL" --na-col 'x0' "$CSV_IN"
    want_rc 2 && want_no_out
}
t "csv/na-col-without-equals" csv_na_col_bad

csv_na_replaced() { # --na '?' replaces the list: '?' is missing, NA is not a number
    local na="$CLI_FIX/na_default.csv"
    r mr predict -m "$MISS_MODEL" "$na"
    want_rc 0 || return 1
    mv "$W/out" want
    r mr predict -m "$MISS_MODEL" --na '?' "$CLI_FIX/na_question.csv"
    want_rc 0 && want_same "$W/out" want || return 1
    r mr predict -m "$MISS_MODEL" --na '?' "$na"
    want_rc 4 && want_no_out && want_err_line 'na_default\.csv:2:1: .*NA'
}
t "csv/na-replaces-tokens" csv_na_replaced

csv_na_out() { # csv_na_out TOKEN
    head -n 6 "$PUB/missingness_terms/input.csv" >in.csv
    r mr predict -m "$MISS_MODEL" --na-out "$1" in.csv
    want_rc 0 || return 1
    head -n 6 "$PUB/missingness_terms/expected.csv" | sed "s/^nan\$/$1/" >want
    grep -qx nan "$PUB/missingness_terms/expected.csv" || { echo "no nan in the reference"; return 1; }
    want_same "$W/out" want
}
t "csv/na-out-empty" csv_na_out ''
t "csv/na-out-NA" csv_na_out 'NA'

csv_no_out_header() { tail -n +2 "$CSV_WANT" >want && r mr predict -m "$CSV_MODEL" --no-out-header "$CSV_IN" && want_rc 0 && want_same "$W/out" want; }
t "csv/no-out-header" csv_no_out_header

csv_max_record() { # a record longer than --max-record-bytes is a data error
    r mr predict -m "$CSV_MODEL" --max-record-bytes 1024 "$CLI_FIX/record_3000_bytes.csv"
    want_rc 4 && want_no_out && want_err_line
}
t "csv/max-record-bytes" csv_max_record

csv_unterminated_quote() {
    r mr predict -m "$CSV_MODEL" "$CLI_FIX/unterminated_quote.csv"
    want_rc 4 && want_no_out && want_err_line 'unterminated_quote\.csv:3'
}
t "csv/unterminated-quote" csv_unterminated_quote

csv_unterminated_quote_last() {
    r mr predict -m "$CSV_MODEL" "$CLI_FIX/unterminated_quote_last_field.csv"
    want_rc 4 && want_no_out && want_err_line 'unterminated_quote_last_field\.csv:4'
}
t "csv/unterminated-quote-last-field" csv_unterminated_quote_last

csv_malformed_quote_field() { # the error names the field that holds the bad quote
    r mr predict -m "$CSV_MODEL" "$CLI_FIX/malformed_quote_field1.csv"
    want_rc 4 && want_no_out && want_err_line 'malformed_quote_field1\.csv:3:1: '
}
t "csv/malformed-quote-names-its-field" csv_malformed_quote_field

csv_nul_in_header_name() { # "x\0y" must not match a feature named "x"
    printf 'x0,x1\0y,x2\n1,2,3\n' >nul.csv
    r mr predict -m "$CSV_MODEL" nul.csv
    want_rc 4 && want_no_out && want_err_line 'nul\.csv:1:2: header field 2 holds a NUL byte'
}
t "csv/nul-byte-in-header-name-refused" csv_nul_in_header_name

# --names and --names-from-model imply --no-header: the first line is data
csv_names_imply_no_header() {
    tail -n +2 "$CSV_IN" >body.csv
    r mr predict -m "$CSV_MODEL" --names-from-model body.csv
    want_rc 0 && want_same "$W/out" "$CSV_WANT" || return 1
    r mr predict -m "$CSV_MODEL" --names "$(head -n 1 "$CSV_IN")" body.csv
    want_rc 0 && want_same "$W/out" "$CSV_WANT"
}
t "csv/names-imply-no-header" csv_names_imply_no_header

# a feature no term uses (inspect: unused) may be absent: one warning;
# --strict-columns restores the error (docs/SEMANTICS.md §3)
csv_unused_absent() {
    local M="$PUB/deg1_hinges"
    cut -d, -f1,2 "$M/input.csv" >in.csv # x2 is unused
    r mr predict -m "$M/model.json" --report r.json in.csv
    want_rc 0 && want_same "$W/out" "$M/expected.csv" || return 1
    [ "$(grep -c 'warning' "$W/err")" = 1 ] && grep -q '"x2".*--strict-columns' "$W/err" ||
        { echo "expected one warning naming x2: $(peek "$W/err" 300)"; return 1; }
    jcheck r.json "[c.get('absent', False) for c in j['columns']] == [False, False, True]" || return 1
    r mr predict -m "$M/model.json" --strict-columns in.csv
    want_rc 4 && want_no_out && want_err_line 'column "x2" is missing from the header' || return 1
    r mr predict -m "$M/model.json" -q in.csv
    want_rc 0 && want_no_err
}
t "csv/unused-feature-may-be-absent" csv_unused_absent

# every missing column at once, a near name for a typo, the columns there are
csv_missing_columns_all() {
    local M="$PUB/categorical_strings_missing"
    sed '1s/colour/color/;1s/,b,/,bb,/' "$M/input.csv" >in.csv
    r mr predict -m "$M/model.json" in.csv
    want_rc 4 && want_no_out || return 1
    local n
    n=$(grep -c '^mars-replay: ' "$W/err")
    [ "$n" = 1 ] || { echo "not one line: $(peek "$W/err" 400)"; return 1; }
    grep -q 'model feature columns "colour" (did you mean "color"?), "b" (did you mean "bb"?) are missing from the header' "$W/err" ||
        { echo "not all missing columns named: $(peek "$W/err" 400)"; return 1; }
    grep -q 'the [0-9]* columns are: ' "$W/err" || { echo "no column list: $(peek "$W/err" 400)"; return 1; }
}
t "csv/missing-columns-all-at-once" csv_missing_columns_all

csv_typo_did_you_mean() {
    local M="$PUB/deg1_hinges"
    sed '1s/x1/x_1/' "$M/input.csv" >in.csv
    r mr predict -m "$M/model.json" in.csv
    want_rc 4 && want_err_line 'column "x1" \(did you mean "x_1"\?\) is missing from the header; the 3 columns are: x0, x_1, x2'
}
t "csv/missing-column-did-you-mean" csv_typo_did_you_mean

csv_numeric_header_hint() { # a headerless file read with a header: say --no-header
    local M="$PUB/deg1_hinges"
    tail -n +2 "$M/input.csv" >body.csv
    r mr predict -m "$M/model.json" body.csv
    want_rc 4 && want_err_line 'the header looks like data: .*--no-header'
}
t "csv/numeric-header-suggests-no-header" csv_numeric_header_hint
