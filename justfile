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

# Build the binary alone: what reproduce, figures and verify run (a fresh clone saves the tests' compile time).
build-bin: setup
    cargo build --bin blurry-to-clear

# Run every test: unit, integration, the end-to-end `tiny` run, the insta snapshots and the crate overview's example;
# then format and lint checks, and the documentation's links (every intra-doc link must resolve).
test: setup
    cargo test --no-fail-fast
    cargo fmt --check
    cargo clippy --all-targets --quiet -- -D warnings
    RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links" cargo doc --no-deps --document-private-items --quiet

# Run the fault tests (hostile input, full disk, interruptions; slow) and print a table: fault | what happened | outcome.
test-faults: setup
    scripts/test-faults.sh

# Train, evaluate and analyse every run of a profile (paper, paper-uniform, mini or tiny), then draw its figures and
# write its report (mini: the embedded stand-ins on a 2-core CPU in at most 20 minutes, set-up included).
reproduce profile *args="": build-bin
    {{bin}} reproduce --profile {{profile}} {{args}}

# Redraw the figures of committed numbers (paper: into figures/paper) or of a run directory (runs/mini: into
# runs/mini/figures; refresh the committed ones with `just figures runs/mini --out figures/mini`). Unchanged
# figures are not rewritten.
figures source="paper" *args="": build-bin
    {{bin}} figures {{source}} {{args}}

# Compare a run's tables with the expected numbers under the declared tolerances.
verify run: build-bin
    {{bin}} verify {{run}}

# Measure the training step against the compute limit and the original's pipeline, evaluation, the blur and peak
# memory on this machine's CPU (about 10 minutes); writes runs/bench/cpu.json. Reuses the dev build.
bench *args="": setup
    [ ! -x scripts/bench-setup.sh ] || scripts/bench-setup.sh
    cargo bench --profile dev --bench pipeline -- {{args}}

# Check a CUDA machine in one script: device tests, tiny on CUDA against the CPU, the paper step's speed in fp32 and
# bf16 with the projected wall time of `paper`. `just gpu-check --device cpu` runs the same steps small on the CPU.
gpu-check *args="":
    scripts/gpu-check.sh {{args}}

# Submit the tiny profile to a one-node Slurm cluster started on this machine (slurm-wlm and munge are installed when
# missing, as root) and check its tables against a local run's; REFERENCE=<dir> reuses a local tiny run in <dir>/tiny.
test-slurm: build
    scripts/test-slurm.sh
