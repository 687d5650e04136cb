#!/usr/bin/env bash
# Install libtorch 2.11.0 for tch 0.24 and link it at .libtorch, where .cargo/config.toml points LIBTORCH.
# Idempotent: a second run checks the version and returns in seconds. A LIBTORCH already set in the environment
# wins (a CUDA machine with torch preinstalled): it is checked and linked instead of installing anything.
set -euo pipefail
cd "$(dirname "$0")/.."
want=2.11.0

version_of() { # the torch version found in a libtorch directory, or nothing
  local dir=$1
  if [ -f "$dir/version.py" ]; then sed -n "s/^__version__ = '\([^'+]*\).*/\1/p" "$dir/version.py"
  elif [ -f "$dir/build-version" ]; then cut -d+ -f1 < "$dir/build-version"
  fi
}

if [ -n "${LIBTORCH:-}" ]; then
  target=$LIBTORCH
  if [ ! -f "$target/lib/libtorch_cpu.so" ]; then
    echo "error: LIBTORCH=$target has no lib/libtorch_cpu.so; point it at a libtorch $want directory (such as the" >&2
    echo "       site-packages/torch directory of torch==$want) or unset it to let setup install one" >&2
    exit 1
  fi
else
  if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    python3 -m venv .venv
  fi
  if [ "$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)" != "$want" ]; then
    echo "setup: installing torch==$want into .venv (about 2.7 GB; it provides libtorch)"
    .venv/bin/pip install --quiet --disable-pip-version-check "torch==$want"
  fi
  target=$(.venv/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
fi

have=$(version_of "$target")
if [ "$have" != "$want" ]; then
  echo "error: libtorch at $target is version '${have:-unknown}', but tch 0.24 needs $want" >&2
  echo "       install torch==$want (or unset LIBTORCH and rerun 'just setup')" >&2
  exit 1
fi
ln -sfn "$target" .libtorch
echo "setup: libtorch $have at $target (linked as .libtorch)"
