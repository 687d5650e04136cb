#!/usr/bin/env bash
# Add what benches/original.py needs to .venv, next to the torch that `just setup` installed: torchvision 0.26 (the
# release built for torch 2.11), kornia 0.8.0 with kornia-rs 0.1.8 (the versions the original's notebooks print
# when they `pip install kornia`), numpy and Pillow. Everything goes in with --no-deps, so pip can never replace
# torch; its version is checked afterwards all the same. Idempotent: a second run only checks (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
packages=("torchvision==0.26.*" "kornia==0.8.0" "kornia-rs==0.1.8" packaging numpy pillow)

if [ ! -x "$python" ]; then
  echo "error: no $python; run 'just setup' first (benches/original.py runs on the torch it installs in .venv)" >&2
  exit 1
fi
torch_version() { "$python" -c 'import torch; print(torch.__version__)' 2>/dev/null; }
ready() {
  "$python" - 2>/dev/null <<'EOF'
import kornia, numpy, PIL, torchvision
assert torchvision.__version__.startswith("0.26.") and kornia.__version__ == "0.8.0"
EOF
}

if ready; then
  echo "bench-setup: torchvision, kornia, numpy and Pillow already in .venv"
  exit 0
fi
before=$(torch_version)
if [ -z "$before" ]; then
  echo "error: $python cannot import torch; run 'just setup' first" >&2
  exit 1
fi
echo "bench-setup: installing ${packages[*]} into .venv (--no-deps: torch $before stays)"
"$python" -m pip install --quiet --disable-pip-version-check --no-deps "${packages[@]}"
after=$(torch_version)
if [ "$after" != "$before" ]; then
  echo "error: torch changed from $before to '$after' while installing the bench's packages; rerun 'just setup'" >&2
  exit 1
fi
if ! ready; then
  echo "error: .venv still cannot import torchvision 0.26 and kornia 0.8.0 after installing them; see the pip" >&2
  echo "       output above, or try '$python -m pip install --no-deps ${packages[*]}' by hand" >&2
  exit 1
fi
echo "bench-setup: ready (torch $after)"
