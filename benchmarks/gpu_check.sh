#!/usr/bin/env bash
# The GPU checks in one call: the tests that need CUDA, then the benchmark, each part under its own
# timeout so one slow part cannot take the others' time; logs go to $OUT (default ./gpu_check_out),
# and at the end the tables come out in one block to paste into BENCHMARKS.md's GPU section.
#
#   bash benchmarks/gpu_check.sh         # about 5 minutes, 10:20 at most: torch.compile in MountainCar's per-call table only
#   FULL=1 bash benchmarks/gpu_check.sh  # torch.compile everywhere: about 4 minutes more, past the timeouts below
#
# The parts run in the order of what they decide (the tests, then the targets in BENCHMARKS.md's
# "To be measured": MountainCar against the naive loop, the walker preset as it trains (TQC), the first
# updates' capture), so a run cut short loses the last tables first: the walker's TD3 and DDPG.
#
# It needs the project's requirements (pip install -r requirements-dev.txt; Stable-Baselines3 too for
# its rows). On a machine without gymnasium, Box2D or Stable-Baselines3, prepare the wheels first where
# there is a network (`bash ../shared/gpu/prepare`, which writes .whl/) and carry .whl/ along: this
# script sources .whl/env.sh when it is there. Without a GPU it stops at once, with one line.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}

fail() { echo "gpu_check.sh: $*" >&2; exit 1; }
# Before anything is installed or written: a machine without a GPU learns it in one line.
gpu=$(python3 -c "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else '')" 2>/dev/null) \
  || fail "python3 cannot import torch; install the project's requirements first (pip install -r requirements-dev.txt)"
[ -n "$gpu" ] || fail "no CUDA GPU ($(python3 -c "import torch; print(f'torch {torch.__version__}, built for CUDA {torch.version.cuda}')"), sees none); run this on a machine with an NVIDIA GPU and a CUDA build of torch"

mkdir -p "$OUT"
rm -f "$OUT"/env.txt "$OUT"/tests.txt "$OUT"/steps.txt "$OUT"/calls.txt  # the tables at the end are this run's only
if [ -f .whl/env.sh ]; then
  . .whl/env.sh > "$OUT/env.txt" 2>&1 || { echo "installing the carried wheels failed"; cat "$OUT/env.txt"; }
fi
missing=$(python3 -c "import importlib.util as u; print(*(m for m in ('gymnasium', 'Box2D', 'pytest') if not u.find_spec(m)))")
[ -z "$missing" ] || fail "python3 lacks $missing; install the project's requirements first (pip install -r requirements-dev.txt)"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
  git log --oneline -1; } >> "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

compiled=(--no-compiled)
[ "${FULL:-0}" = 1 ] && compiled=()

failed=()
part() {  # part SECONDS LOG COMMAND...: run one part under its timeout, its output to the screen and to LOG
  local seconds=$1 log=$OUT/$2; shift 2
  echo "=== $* (timeout ${seconds}s)" | tee -a "$log"
  local start=$SECONDS
  timeout "$seconds" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  echo "=== exit $rc after $((SECONDS - start)) s" | tee -a "$log"
  local why="exit $rc"
  [ "$rc" = 124 ] && why="stopped by its ${seconds} s timeout"
  [ "$rc" = 0 ] || failed+=("$* ($why)")
}

# 1. Tests: the captured graph against eager (DDPG, TD3, TD3 and TQC with the walker preset's additions), the check
#    at capture and its fall-back to the eager update, resume, no host sync per update, capture time, the memory on
#    the GPU; and the CPU-side tests of the same files (the CPU torch.compile test is left out: it compiles C++ for a
#    minute and says nothing about the GPU).
part 120 tests.txt python3 -m pytest -q -rs -p no:cacheprovider tests/test_graphed.py tests/test_memory.py \
  tests/test_agent.py -k "not (compiled_update_matches_eager and not on_gpu)"

# 2. Env steps per second in the training loop, side by side (naive loop, eager, graph, SB3 where installed):
#    MountainCar with the blog's DDPG, and the walker preset as it trains (TQC, one update per env step;
#    SB3's row needs sb3-contrib). Under each table, what the graph path's check at capture found (a row
#    that fell back to the eager update says so).
part 110 steps.txt python3 benchmarks/bench.py --envs mcc --calls 0 --chunk 500 --repeats 3 --solve-seeds 0 \
  "${compiled[@]}"
part 80 steps.txt python3 benchmarks/bench.py --envs walker-preset --calls 0 --chunk 500 --repeats 3 \
  --solve-seeds 0 "${compiled[@]}"

# 3. Where a step's time goes: the first 50 updates (compilation, capture), learn, act, push, env step.
part 70 calls.txt python3 benchmarks/bench.py --envs mcc --calls 300 --no-steps --solve-seeds 0
part 70 calls.txt python3 benchmarks/bench.py --envs walker-preset walker-td3 --calls 300 --no-steps \
  --solve-seeds 0 "${compiled[@]}"

# 4. The walker at one update per step: TD3 (the preset's settings and nets), then DDPG (with the naive loop).
part 70 steps.txt python3 benchmarks/bench.py --envs walker-td3 --calls 0 --chunk 500 --repeats 3 --solve-seeds 0 \
  "${compiled[@]}"
part 100 steps.txt python3 benchmarks/bench.py --envs walker --calls 0 --chunk 500 --repeats 3 --solve-seeds 0 \
  "${compiled[@]}"

# 5. The tables in one block, for BENCHMARKS.md's GPU section: the machine, the tests' outcome, then each
#    table with its title and the lines under it (the graph path's check, CPU steal, warnings), then the
#    parts that failed or ran out of time, if any (the script then exits with 1).
echo
echo "=== For BENCHMARKS.md's GPU section ($(date +%Y-%m-%d), logs in $OUT/):"
echo
echo "$gpu, $(python3 -c "import torch; print('torch', torch.__version__)"), commit $(git log -1 --format=%h 2>/dev/null || echo unknown): \`bash benchmarks/gpu_check.sh\`"
echo
tests=$(grep -E '[0-9]+ (passed|failed)' "$OUT/tests.txt" | tail -n 1 | tr -d '=' | xargs)
echo "tests: ${tests:-did not finish (see $OUT/tests.txt)}"
# Markdown: a blank line around each title, and before each line under a table (else it joins the table).
cat "$OUT/steps.txt" "$OUT/calls.txt" 2>/dev/null \
  | grep -E '^(## |\||WARNING|ddpg_helpers|CPU steal|median over|Traceback|[A-Za-z]*Error)' \
  | awk '/^## /{print ""; print; print ""; next} /^\|/{print; next} {print ""; print}'
for f in "${failed[@]}"; do
  echo
  echo "NOT COMPLETE: $f"
done
[ ${#failed[@]} -eq 0 ]
