#!/usr/bin/env bash
# Installs everything svr needs to build and test, from Debian bookworm packages. Idempotent.
# Usage: scripts/install-deps.sh [--tests] [--with-torch]
#   (no option)   what building and running svr needs
#   --tests       also what the test suite needs: NumPy/SciPy/mpmath for the oracle, networkx,
#                 Chromium for the rendering test
#   --with-torch  also PyTorch, torchvision and scikit-learn, for scripts/*.py (example training)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  openmpi-bin libopenmpi-dev
  libscalapack-openmpi-dev libopenblas-dev liblapacke-dev
  libeigen3-dev libboost-program-options-dev libboost-math-dev
  libgtest-dev nlohmann-json3-dev
)
for option in "$@"; do
  case "$option" in
    --tests) packages+=(python3 python3-numpy python3-scipy python3-mpmath python3-networkx chromium) ;;
    --with-torch) packages+=(python3 python3-numpy python3-torch python3-torchvision python3-sklearn) ;;
    *) echo "install-deps: unknown option $option (see the comment at the top)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if (( EUID != 0 )); then sudo_cmd=(sudo); fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
