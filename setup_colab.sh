#!/usr/bin/env bash
# Install what a Colab runtime lacks for the notebooks, without a runtime restart.
#
#   bash setup_colab.sh          # the requirements and ddpg_helpers
#   bash setup_colab.sh --xvfb   # also Xvfb and pyvirtualdisplay, only for a renderer that opens a window
#
# The notebooks' first cell clones the project and runs this script where ddpg_helpers is missing.
# Colab's preinstalled torch satisfies requirements.txt's range, so torch is not reinstalled.
set -euo pipefail
cd "$(dirname "$0")"

# gymnasium draws with pygame-ce, which installs the same `pygame` module as Colab's preinstalled
# pygame; two distributions writing one folder leave it half-replaced, so the old one goes first.
if pip show -q pygame >/dev/null 2>&1 && ! pip show -q pygame-ce >/dev/null 2>&1; then
    pip uninstall -q -y pygame
fi

pip install -q -r requirements.txt

# Installs ddpg_helpers into site-packages for shells and later kernels (python -m ddpg_helpers ...).
# The running notebook kernel does not read new .pth files, so the notebook's cell also puts this
# checkout on its sys.path: that is what makes the import work at once, with no restart.
pip install -q --no-deps -e .

if [[ "${1:-}" == "--xvfb" ]]; then
    # Only a window (render_mode="human") needs a display; rgb_array rendering draws off-screen.
    apt-get -qq update
    apt-get -qq install -y xvfb >/dev/null
    pip install -q pyvirtualdisplay
fi

python - <<'PY'
import gymnasium, torch
print(f"ready: torch {torch.__version__} (cuda: {torch.cuda.is_available()}), gymnasium {gymnasium.__version__}")
PY
