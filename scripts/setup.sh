#!/usr/bin/env bash
# Set up mtavg on a Debian machine: system packages, a virtual environment in .venv, torch first
# (the CPU wheel pinned below), then the project. Idempotent: a second run only checks.
#   bash scripts/setup.sh          # runtime
#   bash scripts/setup.sh --test   # runtime + test tools (moto server, pytest)
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
PY=${PYTHON:-python3}
TORCH_VERSION=2.13.0

need_apt=()
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
if ((${#need_apt[@]})); then
  echo "mtavg setup: installing system packages: ${need_apt[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "mtavg setup: creating .venv"
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)

# torch before anything that depends on it, so the CPU wheel is taken, not a CUDA build
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "mtavg setup: installing torch==$TORCH_VERSION"
  "${PIP[@]}" "torch==$TORCH_VERSION"
fi

stamp=".venv/.mtavg-installed-$WITH_TEST-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "mtavg setup: installing the project$([[ $WITH_TEST == 1 ]] && echo ' with test tools')"
  if [[ $WITH_TEST == 1 ]]; then "${PIP[@]}" -e ".[test]"; else "${PIP[@]}" -e .; fi
  # Resemblyzer ships its speaker encoder; its declared deps would build webrtcvad from source,
  # so it goes in without them (webrtcvad-wheels, librosa, torch are project dependencies).
  "${PIP[@]}" --no-deps "resemblyzer>=0.1.4"
  touch "$stamp"
fi
# librosa's numba kernels compile on first use and are cached beside the package. Compile the ones mtavg
# uses here, in one process, so that parallel workers (the audit's process pool, pytest-xdist) start from a
# written cache: a fresh clone once segfaulted loading a cache its first parallel run had written (decision 199).
.venv/bin/python - <<'PY'
import numpy as np, librosa
y = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
librosa.yin(y, fmin=80, fmax=400, sr=16000)
librosa.pyin(y, fmin=80, fmax=400, sr=16000)
librosa.feature.chroma_stft(y=y, sr=16000)
librosa.feature.tempo(onset_envelope=librosa.onset.onset_strength(y=y, sr=16000), sr=16000)
librosa.feature.rms(y=y)
PY
echo "mtavg setup: ready ($(.venv/bin/python -c 'import torch, prefect; print("torch", torch.__version__, "prefect", prefect.__version__)'))"
