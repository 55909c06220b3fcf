#!/usr/bin/env bash
# Quick start: install what is missing, build (Release), and run `ternd serve` on its embedded
# defaults (data in ./tern-data, loopback ports 2525/2587/2110/2143). Extra arguments go to serve.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_TESTS=OFF >/dev/null
cmake --build build --target ternd
exec ./build/ternd serve "$@"
