#!/usr/bin/env bash
# The GPU check, in one call: on a machine with PyTorch 2.x (CUDA) in its Python, CMake, Ninja and
# nvcc, and no network. Prepare it here first: `bash bench/gpu/prepare-debs.sh` (the other build
# dependencies as Debian packages in bench/gpu/debs/, unpacked into the build folder, not
# installed). Then, on the GPU machine, from the repository root:
#
#   bash bench/gpu/check.sh
#
# env: CAP_CHECK_DEVICE=cuda|cpu (default: cuda when torch sees a GPU), CAP_PYTHON (python3),
#      CAP_CHECK_BUILD_DIR (build-gpu-check), CAP_CHECK_DEBS (bench/gpu/debs; "none": use the
#      machine's own packages)
#
# 1. builds cap against that machine's own torch (only the test and benchmark executables and the
#    plugins, with every core);
# 2. runs the model, training, precision, pruning, contrastive and host-sync tests with CAP_TEST_BACKEND=<device>;
# 3. runs the base-shape benchmarks (CE step, CAP-f step, movement step, importance pass,
#    dense and compacted inference) in float32 and bfloat16, and the same CE step and inference
#    in PyTorch eager from Python (bench/gpu/eager_steps.py) on the same device;
# 4. prints one table of ratios against the targets, and the projected wall time of the paper's
#    recipes (bench/gpu/summarise.py). Everything it measured is left in $BUILD/gpu-check/.
#
# Without a GPU (CAP_CHECK_DEVICE=cpu) the same script runs on the CPU at the tiny shape
# (L2/H128/A2/I512), so that every step of it is exercised where no GPU is at hand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
start=$(date +%s)
python=${CAP_PYTHON:-python3}
build=${CAP_CHECK_BUILD_DIR:-build-gpu-check}
jobs=$(nproc)
device=${CAP_CHECK_DEVICE:-$("$python" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')}
shape=base
[ "$device" = cuda ] || shape=tiny
out="$build/gpu-check"
mkdir -p "$out"
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::UserWarning}  # torch without numpy warns on import
step() { echo "== gpu-check ($(( $(date +%s) - start )) s): $*"; }

step "torch $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)'), device $device, shape $shape"
torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
prefixes="$torch_prefix"
debs=${CAP_CHECK_DEBS:-bench/gpu/debs}
if compgen -G "$debs/*.deb" >/dev/null; then
  mkdir -p "$build"
  deps="$(cd "$build" && pwd)/deps"
  step "unpacking $(ls "$debs"/*.deb | wc -l) Debian packages into $deps"
  mkdir -p "$deps"
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$deps"; done
  prefixes="$prefixes;$deps/usr"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi

step "configuring and building (-j$jobs)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefixes" \
      -DCAP_BUILD_TESTS=ON -DCAP_BUILD_BENCH=ON >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
grep "cap: LibTorch" "$out/configure.log" || true
cmake --build "$build" -j "$jobs" --target cap_tests cap_bench_cap >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }

step "tests on $device (CAP_TEST_BACKEND=$device)"
tests_status=0
CAP_TEST_BACKEND=$device ctest --test-dir "$build" -LE slow -j "$jobs" \
  -R '^(model|training|precision|pruning run|contrastive|movement|soft movement|score masks|backends|host syncs):' \
  >"$out/tests.log" 2>&1 || tests_status=$?
grep -E "tests passed|tests failed|\(Skipped\)|\(Failed\)" "$out/tests.log" || true

for precision in float32 bfloat16; do
  step "cap benchmarks, $precision"
  "$build/bin/cap_bench_cap" --device="$device" --precision="$precision" --shape="$shape" \
    --benchmark_format=json >"$out/cap-$precision.json" 2>"$out/cap-$precision.log" \
    || { tail -20 "$out/cap-$precision.log"; exit 1; }
  step "PyTorch eager, $precision"
  "$python" bench/gpu/eager_steps.py --device "$device" --precision "$precision" --shape "$shape" \
    --steps "$([ "$device" = cuda ] && echo 20 || echo 3)" >"$out/eager-$precision.json" 2>"$out/eager-$precision.log" \
    || { tail -20 "$out/eager-$precision.log"; exit 1; }
done

step "summary"
"$python" bench/gpu/summarise.py "$out" configs | tee "$out/summary.md"
step "done"
exit "$tests_status"
