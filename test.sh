#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: libFuzzer targets briefly (clang 16),
# unit and end-to-end tests under AddressSanitizer + UndefinedBehaviorSanitizer, then the whole
# suite on the Release build. Ends with ctest's summary line. FUZZ_SECONDS (default 20) per target.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh test
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-20}

echo "== fuzz targets (clang 16, ${fuzz_seconds}s each)"
CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
for f in tests/fuzz/*.cpp; do
  name=$(basename "$f" .cpp)
  corpus=$(mktemp -d)
  [ -d "tests/corpus/$name" ] && cp -r "tests/corpus/$name/." "$corpus/"
  if ! ./build-fuzz/fuzz_"$name" -max_total_time="$fuzz_seconds" -max_len=65536 -print_final_stats=0 \
        "$corpus" > "build-fuzz/$name.log" 2>&1; then
    tail -40 "build-fuzz/$name.log"; echo "fuzz target $name FAILED"; exit 1
  fi
  echo "fuzz $name: $(grep -o 'Done [0-9]* runs' "build-fuzz/$name.log" || echo ok)"
  rm -rf "$corpus"
done

echo "== sanitizer build (ASan + UBSan): unit and end-to-end tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --test-dir build-asan -j"$jobs" --output-on-failure > build-asan/ctest.log 2>&1; then
  cat build-asan/ctest.log; echo "sanitizer tests FAILED"; exit 1
fi
grep -E "tests passed|Total Test time" build-asan/ctest.log | sed "s/^/sanitizers: /"

echo "== release build: all tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
cmake --build build -j"$jobs" --target bench_store_append bench_wakeup  # benchmarks are not tests, but must build
ctest --test-dir build -j"$jobs" --output-on-failure
