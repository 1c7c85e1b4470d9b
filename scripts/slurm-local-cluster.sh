#!/usr/bin/env bash
# A throw-away one-node Slurm cluster on this machine, for the tests and for trying the sweep
# scripts without a real cluster. Everything it makes (munge key and socket, slurm.conf, state,
# spool, logs, pid files) stays in one directory; nothing in /etc is read or changed.
#
# Usage (as root; Debian packages slurmctld slurmd slurm-client munge, see
# scripts/install-deps.sh --tests):
#   scripts/slurm-local-cluster.sh start DIR [--cpus N] [--max-array-size N]
#       DIR must not exist or be empty. Starts munged, slurmctld and slurmd (each in its own
#       session, pid in DIR/*.pid), waits until the node is idle and prints the line to eval:
#           export SLURM_CONF=DIR/slurm.conf
#       --cpus N: CPUs the node claims (default: 2 per core; SlurmdParameters=config_overrides
#       lets it claim more than it has). --max-array-size N: MaxArraySize (default 1001).
#       Job ids start at a random FirstJobId: Open MPI names its shared-memory segments after
#       the job and step id, so two clusters on one machine (two test runs at once) that both
#       ran a job 8 would have their ranks talk into each other's segments and crash.
#   scripts/slurm-local-cluster.sh stop DIR
#       Cancels the jobs still known to this cluster, waits for them (up to 30 s), then stops
#       the daemons by the pids in DIR/*.pid. DIR is kept (logs); remove it yourself.
#   scripts/slurm-local-cluster.sh status DIR
#       sinfo and squeue of this cluster.
# Exit status: 0 on success; 1 with a message naming the log to read when a daemon does not
# come up (then whatever was started is stopped again).
set -uo pipefail

die() { echo "slurm-local-cluster: $*" >&2; exit 1; }

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

(( $# >= 2 )) || usage
action=$1 dir=$2
shift 2

pid_alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

read_pid() { [[ -s "$1" ]] && tr -dc '0-9' <"$1"; }

# stop_daemon NAME: TERM the pid in DIR/NAME.pid, then KILL after 10 s.
stop_daemon() {
  local name=$1 pid
  pid=$(read_pid "$dir/$name.pid") || return 0
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  echo "slurm-local-cluster: $name (pid $pid) did not stop on SIGTERM; killing it" >&2
  kill -KILL "$pid" 2>/dev/null
}

stop_cluster() {
  if [[ -f "$dir/slurm.conf" ]] && pid_alive "$(read_pid "$dir/slurmctld.pid")"; then
    export SLURM_CONF="$dir/slurm.conf"
    # Jobs end through slurmd, which must still be running for that.
    local jobs
    mapfile -t jobs < <(squeue -h -o %F 2>/dev/null | sort -u)  # array tasks by their array
    if (( ${#jobs[@]} )); then
      scancel --full --quiet --signal=KILL "${jobs[@]}" 2>/dev/null
      scancel --quiet "${jobs[@]}" 2>/dev/null
      for _ in $(seq 60); do
        [[ -z "$(squeue -h -o %F 2>/dev/null)" ]] && break
        sleep 0.5
      done
    fi
  fi
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local tries=$((seconds * 5))
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "slurm-local-cluster: timed out after ${seconds} s waiting for $what" >&2
  return 1
}

fail_start() {
  echo "slurm-local-cluster: $1" >&2
  local log
  for log in "$dir"/log/*.log; do
    [[ -s "$log" ]] || continue
    echo "---- last lines of $log" >&2
    tail -n 15 "$log" >&2
  done
  stop_cluster
  exit 1
}

free_port() {
  /usr/bin/python3 - "$1" <<'EOF' 2>/dev/null || echo "$1"
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

start_cluster() {
  local cpus="" max_array=1001
  while (( $# )); do
    case "$1" in
      --cpus) cpus=$2; shift 2 ;;
      --max-array-size) max_array=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  (( EUID == 0 )) || die "must run as root (slurmd starts jobs as their user); try sudo"
  local tool
  for tool in munged mungekey slurmctld slurmd sinfo squeue sbatch srun scontrol scancel; do
    command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null ||
      die "'$tool' not found: install the Debian packages slurmctld slurmd slurm-client munge (scripts/install-deps.sh --tests)"
  done
  export PATH="$PATH:/usr/sbin:/sbin"
  if [[ -e "$dir" && -n "$(ls -A "$dir" 2>/dev/null)" ]]; then die "$dir exists and is not empty"; fi
  mkdir -p "$dir"/{state,spool,log,tmp,munge} || die "cannot create $dir"
  dir=$(cd "$dir" && pwd)
  chmod 0755 "$dir"
  chmod 0700 "$dir/munge"

  # Hardware as slurmd sees it: "NodeName=... CPUs=2 ... CoresPerSocket=2 ... RealMemory=24105".
  local hw cores_per_socket sockets threads real_mem
  hw=$(slurmd -C 2>/dev/null | head -n 1) || die "slurmd -C failed"
  cores_per_socket=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")
  sockets=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")
  threads=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")
  real_mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
  [[ -n "$cores_per_socket" && -n "$sockets" && -n "$real_mem" ]] || die "cannot parse 'slurmd -C': $hw"
  local cores=$((cores_per_socket * sockets))
  [[ -n "$cpus" ]] || cpus=$((2 * cores * ${threads:-1}))
  # The node claims CPUs as threads of its real cores, so that cons_tres hands out single CPUs.
  local tpc=$(( (cpus + cores - 1) / cores ))
  local mem=$((real_mem * 9 / 10))
  local def_mem=$((mem / cpus))

  mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
    die "mungekey --create failed (package munge)"
  chmod 0400 "$dir/munge/munge.key"

  local ctld_port slurmd_port first_job_id
  first_job_id=$(( (RANDOM * 32768 + RANDOM) % 60000000 + 1000 ))
  ctld_port=$(free_port 6817)
  slurmd_port=$(free_port 6818)
  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-local-cluster.sh: a one-node test cluster in $dir.
ClusterName=svrlocal
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
TmpFS=$dir/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
MpiDefault=pmix
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
ReturnToService=2
MaxArraySize=$max_array
FirstJobId=$first_job_id
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
JobRequeue=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores_per_socket ThreadsPerCore=$tpc RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"

  setsid munged --foreground --force --key-file="$dir/munge/munge.key" \
    --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" \
    </dev/null >>"$dir/log/munged.log" 2>&1 &
  echo $! >"$dir/munged.pid"
  wait_for 10 "munged" test -S "$dir/munge/munge.socket" || fail_start "munged did not start"

  setsid slurmctld -D -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmctld.log" 2>&1 &
  echo $! >"$dir/slurmctld.pid.tmp"
  mv -f "$dir/slurmctld.pid.tmp" "$dir/slurmctld.pid"
  wait_for 20 "slurmctld to answer" scontrol ping ||
    fail_start "slurmctld did not start (is another slurmctld using the state directory?)"

  setsid slurmd -D -N localhost -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmd.log" 2>&1 &
  echo $! >"$dir/slurmd.pid.tmp"
  mv -f "$dir/slurmd.pid.tmp" "$dir/slurmd.pid"
  node_idle() { sinfo -h -n localhost -o %t | grep -qx 'idle'; }
  wait_for 30 "the node to become idle" node_idle || fail_start "slurmd did not register"
  echo "export SLURM_CONF=$dir/slurm.conf"
}

case "$action" in
  start) start_cluster "$@" ;;
  stop) stop_cluster ;;
  status)
    export SLURM_CONF="$dir/slurm.conf"
    sinfo && squeue ;;
  *) usage ;;
esac
