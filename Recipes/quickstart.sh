#!/usr/bin/env bash
# The quickstart job of the README: installs missing packages, builds the release binary and
# runs Recipes/quickstart.json on Data/ (50 of the 1,961 Bosque passages; --sample-size all
# for every one). Extra arguments go to `pairgen run`, e.g. --model DIR or --restart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Recipes/install-deps.sh
swift build -c release
.build/release/pairgen run Recipes/quickstart.json "$@"
echo "inspect the result with: .build/release/pairgen inspect runs/quickstart" >&2
