#!/usr/bin/env bash
# Installs the build and test dependencies (Debian packages) and configures + builds whale into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(g++ cmake ninja-build pkg-config libhwy-dev libopenblas-dev nlohmann-json3-dev libcli11-dev
          libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev libboost-dev libcpp-httplib-dev
          libtomlplusplus-dev libicu-dev clang libclang-rt-14-dev chromium
          libjs-marked node-dompurify libjs-highlight.js libjs-katex  # the web chat's JS/CSS/fonts, embedded at build
          fortunes)  # fortunes: English text for the README pretraining example
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${WHALE_CMAKE_ARGS:-}
cmake --build build --parallel "$(nproc)"
