#!/usr/bin/env bash
# Installs the Debian packages PairGen builds against, when any is missing. Needs root or sudo.
set -euo pipefail
packages=(libopenblas-dev libzstd-dev zlib1g-dev libssl-dev libsentencepiece-dev libstemmer-dev zstd)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >&2
