#!/usr/bin/env bash
# Bounded memory: stream MB megabytes of CSV through stdin and check that the
# whole run stays under 100 MiB peak RSS and emits exactly one row per input row.
#   tests/big_stream.sh BINARY MB
set -euo pipefail
bin=$1
mb=${2:-1024}
here=$(cd "$(dirname "$0")/.." && pwd)
model=$here/fixtures/example/model.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# one block of rows, repeated: python only builds the block
python3 - "$tmp/block.csv" <<'PY'
import random, sys
random.seed(5)
labels = ["blue", "green", "red", "purple", "NA", ""]
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        c = "NA" if i % 9 == 0 else repr(random.uniform(-2, 2))
        f.write(f"note {i},{c},{random.uniform(-1, 3)!r},{labels[i % 6]},{i}\n")
PY
block_bytes=$(stat -c %s "$tmp/block.csv")
reps=$(( (mb * 1024 * 1024 + block_bytes - 1) / block_bytes ))
rows=$(( reps * 20000 ))
echo "big stream: $reps x $block_bytes bytes = $(( reps * block_bytes / 1048576 )) MiB, $rows rows"
{ echo "note,c,b,colour,id"; for _ in $(seq "$reps"); do cat "$tmp/block.csv"; done; } \
  | "$bin" predict -m "$model" --report "$tmp/report.json" - 2>"$tmp/stderr" | wc -l > "$tmp/lines"
python3 - "$tmp/report.json" "$tmp/lines" "$rows" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lines = int(open(sys.argv[2]).read())
rows = int(sys.argv[3])
rss = r["peak_rss_bytes"] / 2**20
print(f"rows_out={r['rows_out']} lines={lines} peak_rss={rss:.1f} MiB "
      f"buffers={r['pipeline_buffer_bytes'] / 2**20:.1f} MiB threads={r['threads']} "
      f"rows/s={r['rows_per_second']:.0f} seconds={r['seconds']:.1f}")
ok = r["exit_code"] == 0 and r["rows_out"] == rows and lines == rows + 1 and rss < 100
print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
sys.exit(0 if ok else 1)
PY
