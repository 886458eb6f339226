#!/usr/bin/env bash
# The GPU checks in one call: the tests that need CUDA, then the benchmark, each part under its own
# timeout so one slow part cannot take the others' time; logs go to $OUT (default ./gpu_check_out).
#
#   bash benchmarks/gpu_check.sh         # about 5 minutes, 10:40 at most: torch.compile in MountainCar's per-call table only
#   FULL=1 bash benchmarks/gpu_check.sh  # torch.compile everywhere: about 4 minutes more, past the timeouts below
#
# The parts run in the order of what they decide (the tests, then the targets in BENCHMARKS.md's
# "To be measured": MountainCar against the naive loop, the walker preset as it trains, the first
# updates' capture), so a run cut short loses the last tables first: the walker at one update per
# step, TD3 then DDPG.
#
# On a machine without gymnasium, Box2D or Stable-Baselines3, prepare the wheels first where there is
# a network (`bash ../shared/gpu/prepare`, which writes .whl/) and carry .whl/ along: this script
# sources .whl/env.sh when it is there.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
if [ -f .whl/env.sh ]; then
  . .whl/env.sh > "$OUT/env.txt" 2>&1 || { echo "installing the carried wheels failed"; cat "$OUT/env.txt"; }
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
  git log --oneline -1; } >> "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

compiled=(--no-compiled)
[ "${FULL:-0}" = 1 ] && compiled=()

part() {  # part SECONDS LOG COMMAND...: run one part under its timeout, its output to the screen and to LOG
  local seconds=$1 log=$OUT/$2; shift 2
  echo "=== $* (timeout ${seconds}s)" | tee -a "$log"
  local start=$SECONDS
  timeout "$seconds" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  echo "=== exit $rc after $((SECONDS - start)) s" | tee -a "$log"
}

# 1. Tests: the captured graph against eager (DDPG, TD3, TD3 with the walker preset's additions), resume, no host sync per update, capture
#    time, the memory on the GPU; and the CPU-side tests of the same files (the CPU torch.compile
#    test is left out: it compiles C++ for a minute and says nothing about the GPU).
part 150 tests.txt python3 -m pytest -q -rs -p no:cacheprovider tests/test_graphed.py tests/test_memory.py \
  tests/test_agent.py -k "not (compiled_update_matches_eager and not on_gpu)"

# 2. Env steps per second in the training loop, side by side (naive loop, eager, graph, SB3): MountainCar
#    with the blog's DDPG, and the walker's TD3 preset as it trains (two updates per env step).
part 110 steps.txt python3 benchmarks/bench.py --envs mcc --calls 0 --chunk 500 --repeats 3 --solve-seeds 0 \
  "${compiled[@]}"
part 80 steps.txt python3 benchmarks/bench.py --envs walker-td3 --preset --calls 0 --chunk 500 --repeats 3 \
  --solve-seeds 0 "${compiled[@]}"

# 3. Where a step's time goes: the first 50 updates (compilation, capture), learn, act, push, env step.
part 70 calls.txt python3 benchmarks/bench.py --envs mcc --calls 300 --no-steps --solve-seeds 0
part 60 calls.txt python3 benchmarks/bench.py --envs walker-td3 walker --calls 300 --no-steps --solve-seeds 0 \
  "${compiled[@]}"

# 4. The walker at one update per step: TD3 (the preset's nets), then DDPG (with the naive loop).
part 70 steps.txt python3 benchmarks/bench.py --envs walker-td3 --calls 0 --chunk 500 --repeats 3 --solve-seeds 0 \
  "${compiled[@]}"
part 100 steps.txt python3 benchmarks/bench.py --envs walker --calls 0 --chunk 500 --repeats 3 --solve-seeds 0 \
  "${compiled[@]}"
