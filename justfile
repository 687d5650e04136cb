# blurry-to-clear: one command per job. Every recipe that needs the build runs `setup` first (idempotent).
set shell := ["bash", "-euo", "pipefail", "-c"]

bin := "target/debug/blurry-to-clear"

# List the recipes.
default:
    @just --list

# Install libtorch 2.11.0 (torch wheel in .venv) and link it for tch; a LIBTORCH already set wins.
setup:
    scripts/setup.sh

# Build the library, the binary and the tests (one dev profile serves all; see Cargo.toml).
build: setup
    cargo build --all-targets

# Run every test: unit, integration, the end-to-end `tiny` run and the insta snapshots; then format and lint checks.
test: setup
    cargo test --no-fail-fast
    cargo fmt --check
    cargo clippy --all-targets --quiet -- -D warnings

# Train, evaluate and analyse every run of a profile, then draw its figures (mini: embedded data, CPU, <= 20 min).
reproduce profile="paper" *args="": build
    {{bin}} reproduce --profile {{profile}} {{args}}

# Redraw every figure from committed numbers (paper: expected/paper) or from a run directory (e.g. runs/mini).
figures source="paper": build
    {{bin}} figures {{source}}

# Compare a run's tables with the expected numbers under the declared tolerances.
verify run: build
    {{bin}} verify {{run}}

# Measure throughput of the input pipeline (augmentation + blur) and a training step.
bench: setup
    cargo bench

# Submit the tiny profile to a one-node Slurm cluster started on this machine (slurm-wlm and munge are installed when
# missing, as root) and check its tables against a local run's; REFERENCE=<dir> reuses a local tiny run in <dir>/tiny.
test-slurm: build
    scripts/test-slurm.sh
