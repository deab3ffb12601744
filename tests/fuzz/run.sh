#!/usr/bin/env bash
# Makes the seed corpora and runs every fuzz target for a fixed time; fails on the first finding.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET=30]
# BUILD_DIR was configured with -DIMGVEC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++. A finding is kept
# as BUILD_DIR/fuzz-artifacts/<target>-crash-*; rerun it with BUILD_DIR/tests/fuzz/imgvec_fuzz_<target> FILE.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1
seconds=${2:-30}
corpus=$build/fuzz-corpus
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
"$build/tests/fuzz/imgvec_fuzz_seeds" "$corpus" tests/data/images
cp tests/fuzz/seeds/*.webp tests/fuzz/seeds/*.tiff tests/data/formats/* "$corpus/decode_image/"
mkdir -p "$corpus/photo_match"
cp "$corpus/decode_image/"* "$corpus/photo_match/"  # duplicate verification starts from decodable images
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One target: a finding prints the end of its log and fails.
fuzz_one() {
  local target=$1
  mkdir -p "$corpus/$target"
  local log=$build/fuzz-$target.log
  if ! "$build/tests/fuzz/imgvec_fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$corpus/$target" >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz target $target found a problem; the input is in $artifacts" >&2
    return 1
  fi
  local runs cov
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  echo "fuzz $target: $runs executions in ${seconds}s, $cov, corpus $(ls "$corpus/$target" | wc -l) files, nothing found"
}
# As many targets at a time as there are cores (FUZZ_JOBS overrides): each still gets its full
# time, and on CI's 2 cores the stage takes half as long.
jobs=${FUZZ_JOBS:-$(nproc)}
running=()
failed=0
for target in decode_image decode_base64 exif photo_facts photo_match import index_load metadata_load manifest_open where_parse tokenizer bundle_config log_replay text_cache server_request; do
  fuzz_one "$target" &
  running+=($!)
  if (( ${#running[@]} >= jobs )); then
    wait "${running[0]}" || failed=1
    running=("${running[@]:1}")
  fi
done
for pid in "${running[@]}"; do wait "$pid" || failed=1; done
exit $failed
