#!/usr/bin/env bash
# Run here, where Debian's mirrors are reachable, before bench/gpu/check.sh goes to a GPU machine
# that has PyTorch, CMake, Ninja and nvcc but no network: downloads the Debian 12 packages cap
# builds against (headers, CMake files and their shared libraries; no LibTorch, no BLAS: the GPU
# machine's own torch is used) into bench/gpu/debs/ (git-ignored, about 20 MiB). check.sh unpacks
# them with `dpkg -x` into its build folder; nothing is installed on either machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
packages=(
  libboost1.74-dev                        # Boost.DLL (header-only)
  libtomlplusplus-dev libtomlplusplus3
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  nlohmann-json3-dev libcli11-dev libdlpack-dev doctest-dev
  libssl-dev libssl3                      # SHA-256 of plugin files
  libutf8proc-dev libutf8proc2
  libbenchmark-dev libbenchmark1debian    # bench/cap_step.cpp
)
rm -rf debs.tmp && mkdir debs.tmp
(cd debs.tmp && apt-get download "${packages[@]}" 2>&1 | grep -v "unsandboxed as root" || true)
# Epochs are spelled %3a in the file names; keep names plain so they travel anywhere.
for f in debs.tmp/*%3a*; do [ -e "$f" ] && mv "$f" "${f//%3a/-}"; done
[ "$(ls debs.tmp | wc -l)" -eq "${#packages[@]}" ] || { echo "prepare-debs: not every package was downloaded"; exit 1; }
rm -rf debs && mv debs.tmp debs
du -sh debs
