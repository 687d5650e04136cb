#!/usr/bin/env bash
# `just test-slurm`: `reproduce --executor slurm` against a real Slurm. Starts a one-node cluster on this machine
# (munged, slurmctld and slurmd from Debian's slurm-wlm, installed when missing; no cgroups, 2 CPUs, every file in a
# temporary directory), submits the `tiny` profile as a job array and its tables job, waits for them, and checks:
# a task warned of its time limit (USR1, as Slurm sends it) stops at a safe point, requeues itself and resumes from its
# checkpoint; the tables equal a local `tiny` run's byte for byte; `status` reports every run done; and a second
# submission submits nothing. Every daemon it started is stopped by pid on the way out, also on failure.
#
# REFERENCE=<dir> reuses a local `tiny` run (its <dir>/tiny/results) instead of making one. KEEP=1 keeps the
# temporary directory (logs, runs) for inspection; it is also kept when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
bin="$PWD/target/debug/blurry-to-clear"
[ -x "$bin" ] || { echo "test-slurm: $bin is missing; run \`just build\` first" >&2; exit 1; }
started=$(date +%s)
say() { echo "test-slurm [$(( $(date +%s) - started )) s]: $*"; }

missing=0
for program in munged mungekey slurmctld slurmd sbatch squeue scancel sinfo; do
  command -v "$program" >/dev/null || missing=1
done
if [ "$missing" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "test-slurm: Slurm is not installed and only root can install it: apt-get install slurm-wlm munge" >&2; exit 1; }
  say "installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

work=$(mktemp -d /tmp/b2c-test-slurm.XXXXXX)
chmod 0755 "$work"
daemons=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
    # Every job on this private cluster is ours: cancel them (again, while a cancelled task lets the next start)
    # until none is left, so that no task outlives the daemons.
    for _ in $(seq 60); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      scancel --user="$(id -un)" 2>/dev/null || true
      sleep 1
    done
  fi
  for (( i=${#daemons[@]}-1; i>=0; i-- )); do
    kill "${daemons[$i]}" 2>/dev/null || true
    wait "${daemons[$i]}" 2>/dev/null || true
  done
  if [ "$status" = 0 ] && [ "${KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "test-slurm: logs and runs kept in $work" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "test-slurm: FAILED: $*" >&2; exit 1; }

# munged: its own key, socket and files; the daemons find it through AuthInfo.
mkdir -m 0755 "$work/munge"
mungekey --create --keyfile="$work/munge/munge.key"
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" \
  >"$work/munge/munged.out" 2>&1 &
daemons+=($!)
for _ in $(seq 50); do [ -S "$work/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.socket" ] || fail "munged did not start: $(cat "$work/munge/munged.log" 2>/dev/null)"

host=$(hostname -s)
port=$(( 20000 + RANDOM % 20000 ))
mkdir -p "$work/state" "$work/spool"
touch "$work/plugstack.conf"
cat > "$work/slurm.conf" <<EOF
ClusterName=b2ctest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$(( port + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
PlugStackConfig=$work/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -c -i >"$work/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -N "$host" >"$work/slurmd.out" 2>&1 &
daemons+=($!)
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qx idle && break
  sleep 1
done
sinfo -h -o %T 2>/dev/null | grep -qx idle || fail "the node did not come up: $(tail -5 "$work/slurmctld.log" "$work/slurmd.log")"
say "cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %T')"

# The same pinned kernels and threads as tests/reproduce.rs, so that the numbers do not depend on the CPU.
export ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 RUST_LOG=warn
out="$work/runs"
submit() { "$bin" reproduce --profile tiny --threads 2 --out "$out" --executor slurm --max-parallel 1 --time 0:30:00; }
submit | tee "$work/submit.log"
array=$(sed -n 's/.* as job array \([0-9]*\).*/\1/p' "$work/submit.log")
[ -n "$array" ] || fail "nothing was submitted"

# What Slurm does two minutes before a task's time limit (--signal=B:USR1@120), once the first task has written a
# checkpoint: USR1 to its batch script (the batch step's task 0). The task must stop at a safe point,
# requeue itself, and resume from its checkpoint.
first="$out/tiny/faces/clear/seed-0"
for _ in $(seq 1200); do [ -f "$first/checkpoints/epoch-001.safetensors" ] && break; sleep 0.5; done
[ -f "$first/checkpoints/epoch-001.safetensors" ] || fail "the first task wrote no checkpoint in 10 minutes"
job=$(squeue -h -j "${array}_0" -o %A)
batch=$(scontrol listpids "$job" | awk '$3 == "batch" && $4 == "0" { print $1 }')
[ -n "$batch" ] || fail "no batch script among the processes of task ${array}_0: $(scontrol listpids "$job")"
kill -USR1 "$batch"
say "sent USR1 to the batch script of task ${array}_0 (pid $batch) after its first checkpoint"

# Meanwhile nothing else may run: two libtorch processes on 2 cores slow each other down many times over.
deadline=$(( $(date +%s) + 2400 ))
while [ -n "$(squeue -h -o %i)" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the jobs did not finish in 40 minutes: $(squeue)"
  sleep 5
done
say "every job left the queue"
for log in "$out"/tiny/slurm/*.out; do
  if grep -q '^error:' "$log"; then fail "$log: $(grep '^error:' "$log")"; fi
done
grep -q "requeueing" "$out/tiny/slurm/${array}_0.out" || fail "task ${array}_0 did not requeue itself on USR1"
grep -q "resuming" "$first/run.log" || fail "the requeued task did not resume from its checkpoint: $(cat "$first/run.log")"
[ -f "$out/tiny/manifest.json" ] && [ -f "$out/tiny/stages/figures.json" ] \
  || fail "the tables job did not gather, draw and write the manifest: $(cat "$out"/tiny/slurm/tables-*.out)"

"$bin" status "$out/tiny" | tee "$work/status.log"
[ "$(grep -c '  seed 0  done  \[Slurm [0-9]*_[0-9]*' "$work/status.log")" = 15 ] || fail "status does not report 15 runs done"
grep -q '^tiny: 15 runs: 15 done$' "$work/status.log" || fail "status summary"

submit | tee "$work/resubmit.log"
grep -q "^nothing to submit" "$work/resubmit.log" || fail "a second submission submitted again"
[ -z "$(squeue -h -o %i)" ] || fail "jobs were queued by the second submission: $(squeue)"

reference="${REFERENCE:-}"
if [ -z "$reference" ]; then
  say "local reference run"
  reference="$work/local"
  "$bin" reproduce --profile tiny --threads 2 --out "$reference" --no-figures
fi
tables=0
for table in "$reference"/tiny/results/*.csv "$reference"/tiny/results/*.parquet; do
  cmp "$table" "$out/tiny/results/$(basename "$table")" || fail "$(basename "$table") differs from the local run's"
  tables=$(( tables + 1 ))
done
[ "$tables" -ge 16 ] || fail "only $tables tables in $reference/tiny/results"
say "passed: a task warned of its time limit requeued and resumed, $tables tables byte-identical to a local run's, 15 runs done, nothing resubmitted"
