#!/bin/sh
# Runs each config.json fuzzer of a built tests/fuzz project (`make fuzz`):
#   tests/fuzz/run.sh BUILD_DIR
# Environment:
#   FUZZ_TIME   seconds per fuzzer (default 60)
#   FUZZ_MERGE  1: merge the new inputs into tests/fuzz/corpus/<fuzzer>/
#               (libFuzzer -merge=1 with <fuzzer>_merge, built by the target
#               merge_tools: only those that reach new nsbox code)
#   FUZZ_ARGS   more libFuzzer flags, e.g. "-jobs=4 -workers=4" or "-runs=100000"
#   FUZZERS     which fuzzers (default: config_fuzzer resources_fuzzer)
# New inputs go to BUILD_DIR/new/<fuzzer>/ (kept between runs, read back as
# corpus), crashes to BUILD_DIR/artifacts/; the repository's corpus is only
# read unless FUZZ_MERGE=1. Exits 1 when a fuzzer found a crash.
set -u
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
time=${FUZZ_TIME:-60}
status=0

for f in ${FUZZERS:-config_fuzzer resources_fuzzer}; do
  corpus=$here/corpus/$f
  scratch=$build/new/$f
  log=$build/$f.log
  mkdir -p "$scratch" "$build/artifacts"
  echo "== $f: ${time}s on $corpus (new inputs: $scratch, log: $log)"
  # The scratch dir comes first: libFuzzer writes new inputs to the first one.
  # shellcheck disable=SC2086
  "$build/$f" -max_total_time="$time" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -dict="$here/config.dict" -artifact_prefix="$build/artifacts/$f-" -print_final_stats=1 \
    ${FUZZ_ARGS:-} "$scratch" "$corpus" >"$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | sed 's/^/   /'
  grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 | sed 's/^/   /'  # -fork=N
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$log" | sed 's/^/   /'
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "   FAILED (exit $rc):"
    grep -E 'invariant .* violated|ERROR: (AddressSanitizer|libFuzzer)|runtime error:|Test unit written' \
      "$log" | head -n 5 | sed 's/^/   /'
    echo "   reproduce: $build/$f FILE; keep the reproducer in tests/fuzz/crashes/"
    continue
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    if [ ! -x "$build/${f}_merge" ]; then
      echo "   cannot merge: no $build/${f}_merge (cmake --build $build --target merge_tools)"
      status=1
      continue
    fi
    before=$(find "$corpus" -type f | wc -l)
    # ${f}_merge counts coverage of nsbox's own code only (merge-ignorelist.txt)
    # and -use_counters=0 ignores hit counts: only inputs that reach new nsbox
    # edges are added, so that the corpus stays small.
    "$build/${f}_merge" -merge=1 -use_counters=0 "$corpus" "$scratch" \
      >"$build/$f.merge.log" 2>&1 || {
      echo "   merge failed, see $build/$f.merge.log"
      status=1
    }
    after=$(find "$corpus" -type f | wc -l)
    echo "   merged $((after - before)) new inputs into $corpus ($after files," \
      "$(du -sk "$corpus" | cut -f1) KiB)"
  fi
done
total=$(find "$here/corpus" -type f | wc -l)
if [ "$total" -ge 200 ]; then
  echo "warning: tests/fuzz/corpus holds $total files (keep it under 200)"
fi
exit $status
