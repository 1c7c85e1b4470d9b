#!/usr/bin/env bash
# Submits an svr sweep: one Slurm job array task per model of LIST (slurm/sweep.sbatch), split
# into several arrays when LIST is longer than the cluster allows in one (MaxArraySize, and
# max_array_tasks in SchedulerParameters), then `svr aggregate OUTROOT -o OUTROOT/sweep.csv`
# (slurm/aggregate.sbatch) as a job that starts after every array task ended
# (--dependency=afterany:...). See docs/slurm.md.
#
# Usage: scripts/sweep-submit.sh LIST OUTROOT [sbatch options...]
#   LIST     one model per line, optionally followed by svr options; blank lines and # comments
#            are skipped (format: slurm/sweep.sbatch)
#   OUTROOT  created if needed; entry K goes to OUTROOT/KKKK-<slug of its path>/, the task logs
#            to OUTROOT/logs/, the table to OUTROOT/sweep.csv
#   sbatch options apply to every array (e.g. --partition=short --ntasks=8 --time=30); of them,
#            --partition, --account, --qos, --reservation, --clusters also to the aggregation.
# Variables: SVR_BIN, SVR_OPTIONS, SVR_MPI, SVR_RECOMPUTE (see slurm/sweep.sbatch), passed on
#   to the jobs with the rest of the environment; SVR_ARRAY_THROTTLE=N runs at most N tasks of
#   each array at once; SVR_AGGREGATE_SBATCH_OPTIONS more sbatch options for the aggregation.
#
# Prints the arrays with their entries and, last, one line "jobs: ARRAY_ID... aggregate: ID".
# Exit status: 0 submitted; 1 sbatch refused a job (those already submitted are cancelled);
# 2 bad arguments or LIST (missing model files are listed).
set -uo pipefail

die() { echo "sweep-submit: error: $*" >&2; exit 2; }

(( $# >= 2 )) || die "usage: scripts/sweep-submit.sh LIST OUTROOT [sbatch options...]"
list=$1 outroot=$2
shift 2
# Through a symbolic link too (an installed bin/svr-sweep-submit points into share/svr/scripts).
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
sweep_script=${SVR_SWEEP_SCRIPT:-$here/../slurm/sweep.sbatch}
aggregate_script=${SVR_AGGREGATE_SCRIPT:-$here/../slurm/aggregate.sbatch}
[[ -r "$sweep_script" && -r "$aggregate_script" ]] ||
  die "cannot find slurm/sweep.sbatch and slurm/aggregate.sbatch next to $here"

for option in "$@"; do
  case "$option" in
    -a | --array | --array=*) die "do not pass --array: it is set from the length of LIST" ;;
    --export | --export=*) die "do not pass --export: the tasks need SVR_SWEEP_OFFSET from the environment" ;;
    -d | --dependency | --dependency=*) die "--dependency is not supported here: submit the sweep when its inputs exist" ;;
  esac
done

[[ -f "$list" && -r "$list" ]] || die "cannot read the list '$list'"
list=$(cd "$(dirname "$list")" && pwd)/$(basename "$list")

# Entries: "LINE_NUMBER<TAB>MODEL" for every line that is not blank or a comment.
mapfile -t entries < <(awk '{ sub(/\r$/, "") } /^[[:space:]]*(#|$)/ { next } { print NR "\t" $1 }' "$list")
n=${#entries[@]}
(( n > 0 )) || die "$list has no models (blank lines and # comments are skipped)"
bad=0
for entry in "${entries[@]}"; do
  model=${entry#*$'\t'}
  if [[ ! -f "$model" ]]; then
    echo "sweep-submit: line ${entry%%$'\t'*} of $list: no such file: $model" >&2
    bad=$((bad + 1))
  fi
done
(( bad == 0 )) || die "$bad of $n model files not found (relative paths start from $(pwd), where the jobs run)"

if [[ -z "${SVR_BIN:-}" ]] && ! command -v svr >/dev/null; then
  echo "sweep-submit: warning: svr is not on PATH here and SVR_BIN is not set; the jobs will fail unless svr is on PATH on the compute nodes" >&2
fi

# The largest array this cluster takes: task ids 0..MaxArraySize-1, at most max_array_tasks.
config=$(scontrol show config 2>&1) || die "scontrol show config failed: $config"
max_array=$(awk -F= '/^MaxArraySize[[:space:]]*=/ { gsub(/[[:space:]]/, "", $2); print $2 }' <<<"$config")
[[ "$max_array" =~ ^[0-9]+$ ]] || die "cannot read MaxArraySize from scontrol show config"
(( max_array > 0 )) || die "this cluster has job arrays disabled (MaxArraySize = 0)"
chunk=$max_array
max_tasks=$(grep -o 'max_array_tasks=[0-9]*' <<<"$config" | head -n 1 | cut -d= -f2)
[[ -n "$max_tasks" ]] && (( max_tasks < chunk )) && chunk=$max_tasks

mkdir -p -- "$outroot/logs" || die "cannot create $outroot/logs"
outroot=$(cd "$outroot" && pwd)

throttle=""
if [[ -n "${SVR_ARRAY_THROTTLE:-}" ]]; then
  [[ "$SVR_ARRAY_THROTTLE" =~ ^[1-9][0-9]*$ ]] || die "SVR_ARRAY_THROTTLE must be a positive number"
  throttle="%$SVR_ARRAY_THROTTLE"
fi

array_ids=()
cancel_submitted() {
  (( ${#array_ids[@]} )) || return 0
  echo "sweep-submit: cancelling the arrays already submitted: ${array_ids[*]}" >&2
  scancel "${array_ids[@]}"
}

for (( offset = 0; offset < n; offset += chunk )); do
  size=$(( n - offset < chunk ? n - offset : chunk ))
  if ! out=$(SVR_SWEEP_OFFSET=$offset sbatch --parsable --array="0-$((size - 1))$throttle" \
      --job-name=svr-sweep --output="$outroot/logs/sweep-%A_%a.out" "$@" \
      "$sweep_script" "$list" "$outroot" 2>&1); then
    echo "sweep-submit: sbatch refused the array for entries $offset-$((offset + size - 1)): $out" >&2
    cancel_submitted
    exit 1
  fi
  id=${out##*$'\n'}
  id=${id%%;*}
  [[ "$id" =~ ^[0-9]+$ ]] || { echo "sweep-submit: unexpected sbatch output: $out" >&2; cancel_submitted; exit 1; }
  array_ids+=("$id")
  echo "array $id: entries $offset-$((offset + size - 1)) of $list (task T = entry $offset+T)"
done

# The aggregation gets the options that say where to run, not the per-model resources.
where=()
while (( $# )); do
  case "$1" in
    -p | -A | -q | -M | --partition | --account | --qos | --reservation | --clusters)
      (( $# >= 2 )) && where+=("$1" "$2"); shift 2 || shift ;;
    --partition=* | --account=* | --qos=* | --reservation=* | --clusters=* | -p?* | -A?* | -q?* | -M?*)
      where+=("$1"); shift ;;
    *) shift ;;
  esac
done
read -r -a aggregate_options <<<"${SVR_AGGREGATE_SBATCH_OPTIONS:-}"
dependency=afterany:$(IFS=:; echo "${array_ids[*]}")
if ! out=$(sbatch --parsable --dependency="$dependency" --kill-on-invalid-dep=no \
    --job-name=svr-aggregate --output="$outroot/logs/aggregate-%j.out" "${where[@]}" \
    "${aggregate_options[@]}" "$aggregate_script" "$list" "$outroot" 2>&1); then
  echo "sweep-submit: sbatch refused the aggregation job: $out" >&2
  cancel_submitted
  exit 1
fi
aggregate_id=${out##*$'\n'}
aggregate_id=${aggregate_id%%;*}
echo "aggregate $aggregate_id: svr aggregate $outroot -o $outroot/sweep.csv after every task (logs in $outroot/logs)"
echo "jobs: ${array_ids[*]} aggregate: $aggregate_id"
