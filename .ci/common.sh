# Shared by .ci/quickstart and .ci/test: install what is missing, then configure and build.
# Sourced, not run. Honours BUILD_DIR (default: build) and CMAKE_BUILD_TYPE (default: Release).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}

# Debian 12 packages cap builds against. libopenblas0-pthread is not optional: without it
# Debian's LibTorch multiplies matrices with the reference BLAS, about 40x slower.
CAP_PACKAGES=(
  g++ cmake ninja-build ccache binutils git
  libtorch-dev libopenblas0-pthread
  libboost-dev libtomlplusplus-dev libspdlog-dev doctest-dev libdlpack-dev
  nlohmann-json3-dev libcli11-dev libssl-dev libutf8proc-dev libbenchmark-dev
  gnuplot-nox fonts-dejavu-core  # `cap report` draws its plots with gnuplot (PNG and SVG, cairo)
)

install_missing_packages() {
  local missing=()
  for p in "${CAP_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "cap: every required Debian package is installed"
    return
  fi
  echo "cap: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# build_cap [target...]: configure, then build the targets given (default: everything).
build_cap() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"
  if [ $# -gt 0 ]; then
    cmake --build "$BUILD_DIR" --target "$@"
  else
    cmake --build "$BUILD_DIR"
  fi
}
