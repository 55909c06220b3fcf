#!/usr/bin/env bash
# Quick start: install what is missing, build (Release), and run `ternd serve` on its embedded
# defaults (data in ./tern-data, loopback ports 2525/2587/2110/2143). Extra arguments go to serve.
# As root, `ternd setup` first creates the unprivileged user the server switches to.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_TESTS=OFF >/dev/null
cmake --build build --target ternd
if [ "$(id -u)" -eq 0 ]; then ./build/ternd --data tern-data setup; fi
exec ./build/ternd --data tern-data serve "$@"
