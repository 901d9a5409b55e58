#!/usr/bin/env bash
# CTest "slurm: ...": the emitted job array under a real one-node Slurm (Debian's slurm-wlm and
# munge, started here by PID and stopped at the end).
#   1. a sweep of 3 cells runs to completion as an array; sweep.json says every run is done and
#      `cap report` renders the table;
#   2. the same sweep emitted into a second folder: one cell is requeued (`scontrol requeue`)
#      while it prunes, another hits its `--time` limit while it prunes (USR1 before the limit,
#      checkpoint, exit 75, the task requeues itself); both come back, resume from their
#      checkpoints and end with the same files as the uninterrupted runs of step 1.
# Usage: check.sh CAP_EXE SOURCE_DIR WORK_DIR. Exit 77 (a visible skip) without Slurm or root.
set -uo pipefail
cap=$1 src=$2 work=$3

for tool in munged slurmctld slurmd sbatch scontrol squeue; do
  if ! command -v "$tool" > /dev/null; then
    echo "SKIP: $tool is not installed (apt-get install slurmctld slurmd slurm-client munge; .ci/run does)"
    exit 77
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: slurmd must run as root to start jobs"
  exit 77
fi

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
source "$src/tests/slurm/one-node.sh"

fail() {
  echo "FAILED: $*"
  for f in "$work"/out*/slurm/*.out "$work"/cluster/log/slurmctld.log; do
    [ -f "$f" ] && { echo "--- $f (end)"; tail -n 40 "$f"; }
  done
  exit 1
}
trap 'slurm_stop "$work/cluster"' EXIT
slurm_start "$work/cluster" || fail "the one-node Slurm did not start"
echo "slurm: one node up ($(sinfo -h -o '%N %c CPUs'))"

# Cells a and b prune for ~30 s, cell long for ~2 minutes, long enough that Slurm's signal
# (sent up to a minute either side of its mark) arrives while it prunes.
cat > "$work/sweep.toml" <<EOF
include = "$src/configs/quickstart.toml"
[backend]
plugin = "cpu"
[task]
max_train_examples = 1000
max_eval_examples = 100
[finetune]
epochs = 1
[schedule]
percents = [10, 20, 30, 40, 50, 60]
[sweep]
name = "slurm-check"
[[sweep.axis]]
name = "cell"
variants = [
  { label = "a", set = { "run.seed" = 1 } },
  { label = "b", set = { "run.seed" = 2 } },
  { label = "long", set = { "schedule.percents" = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50], "schedule.retrain_epochs" = 2.0 } },
]
[sweep.slurm]
cpus_per_task = 1
mem = "2G"
time = "30:00"
EOF

# Waits until the shell condition $1 holds (at most $2 seconds), else fails saying $3.
wait_for() {
  local i
  for ((i = 0; i < $2; i++)); do
    eval "$1" && return 0
    sleep 1
  done
  fail "after $2 s: $3"
}
job_state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
restarts() { scontrol -o show job "$1" 2>/dev/null | grep -o 'Restarts=[0-9]*' | head -1 | cut -d= -f2; }
array_done() { [ -z "$(squeue -h -j "$1" 2>/dev/null)" ]; }
# A requeued task waits two minutes before it may start again (Slurm's rule); start it now, but
# not in the second its last start was revoked (slurmd then refuses it: "credential revoked").
release() {
  sleep 2
  scontrol update JobId="$1" StartTime=now || fail "scontrol update StartTime=now refused for $1"
}
same_files() {
  local f
  for f in final/model.safetensors masks.safetensors remaining_weights.csv importance.safetensors; do
    [ -f "$1/$f" ] || continue
    cmp -s "$1/$f" "$2/$f" || fail "$2/$f differs from the uninterrupted run's $1/$f"
  done
}

cd "$work"
# --- 1. the whole array, uninterrupted --------------------------------------------------------
"$cap" sweep sweep.toml --emit slurm --out out1 > emit1.log 2>&1 || fail "cap sweep --emit slurm: $(cat emit1.log)"
job=$(sbatch --parsable out1/sweep.sbatch) || fail "sbatch refused out1/sweep.sbatch"
echo "slurm: array $job submitted (3 cells)"
wait_for "array_done $job" 600 "array $job did not finish"
for cell in a b long; do
  [ -f "out1/$cell/summary.json" ] || fail "out1/$cell has no summary.json"
done
for cell in a b long; do
  python3 - "$work/out1/sweep.json" "$cell" <<'PY' || fail "sweep.json does not say $cell is done: $(cat out1/sweep.json)"
import json, sys
runs = {r["name"]: r.get("status") for r in json.load(open(sys.argv[1]))["runs"]}
sys.exit(0 if runs.get(sys.argv[2]) == "done" else 1)
PY
done
"$cap" report out1 --out report > report.log 2>&1 || fail "cap report: $(cat report.log)"
[ -s report/table.md ] || fail "cap report wrote no table.md"
echo "slurm: every cell finished, sweep.json says done, the report rendered"

# --- 2. requeued while pruning, and a time limit hit while pruning -----------------------------
"$cap" sweep sweep.toml --emit slurm --out out2 > emit2.log 2>&1 || fail "cap sweep --emit slurm: $(cat emit2.log)"
requeued=$(sbatch --parsable --array=0 out2/sweep.sbatch) || fail "sbatch refused out2 (cell 0)"
limited=$(sbatch --parsable --array=2 --time=2 --signal=B:USR1@50 out2/sweep.sbatch) ||
  fail "sbatch refused out2 (cell 2)"

wait_for "ls out2/a/checkpoints/stage-01-selected/state.json > /dev/null 2>&1" 300 \
  "cell a never reached its second pruning stage"
scontrol requeue "${requeued}_0" || fail "scontrol requeue ${requeued}_0 failed"
echo "slurm: ${requeued}_0 requeued while pruning"
wait_for "[ \"\$(job_state ${requeued}_0)\" = PENDING ]" 120 "${requeued}_0 did not come back as pending"
release "${requeued}_0"

wait_for "[ \"\$(restarts ${limited}_2)\" -ge 1 ] 2> /dev/null" 300 "${limited}_2 was not requeued at its time limit"
grep -q "stopped by SIGUSR1" out2/slurm/"${limited}"_2.out ||
  fail "${limited}_2: cap did not log a stop by SIGUSR1"
grep -q "stage-[0-9][0-9]: SIGUSR1 received" out2/slurm/"${limited}"_2.out ||
  fail "${limited}_2: the time limit did not stop it while pruning"
echo "slurm: ${limited}_2 stopped by its time limit while pruning, checkpointed and requeued"
wait_for "[ \"\$(job_state ${limited}_2)\" = PENDING ]" 120 "${limited}_2 is not pending again"
scontrol update JobId="${limited}_2" TimeLimit=30 || fail "cannot lift ${limited}_2's time limit"
release "${limited}_2"

wait_for "array_done $requeued && array_done $limited" 600 "the requeued cells did not finish"
[ -f out2/a/summary.json ] || fail "out2/a did not finish after its requeue"
[ -f out2/long/summary.json ] || fail "out2/long did not finish after its time limit"
grep -q "resum" out2/slurm/"${requeued}"_0.out || fail "${requeued}_0 did not resume from a checkpoint"
grep -q "resum" out2/slurm/"${limited}"_2.out || fail "${limited}_2 did not resume from a checkpoint"
same_files out1/a out2/a
same_files out1/long out2/long
echo "slurm: both interrupted cells resumed and ended with the uninterrupted runs' files"
echo "slurm: all checks passed"
