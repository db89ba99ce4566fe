#!/usr/bin/env bash
# The test command of the README and of CI: installs missing packages, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Recipes/install-deps.sh
swift build --build-tests
# Every test is XCTest; without Swift Testing the run closes on XCTest's own summary.
swift test --skip-build --disable-swift-testing "$@"
