#!/usr/bin/env bash
# One borrowed-GPU call, whole: install, then the runs of a spec file side by side on the GPU, each
# through scripts/gpu_train.sh (see it for the preparation here: data-pack, .whl, --pack-init, --slim).
#
#   MINUTES=6.8 scripts/gpu_session.sh scripts/gpu_runs.txt      # the device call's command (OUT is set there)
#
# The spec file has one run a line, `NAME [rnc train options…]` (blank lines and # comments skipped;
# options may use $C, the carried reference classifier). Everything a run prints goes to $OUT/log.txt,
# prefixed with its name, and so do the GPU's load and memory every minute. A device call is short and
# its time is counted from the machine's start, so a run that dies in its first EARLY_CHECK_S seconds
# (default 90: a wrong option, a missing file) stops the whole call at once with the log, leaving time
# for a corrected call; later a run that dies leaves the others going. Exit: 0, or 3 for an early death.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder the weights go to}"
spec=${1:?usage: scripts/gpu_session.sh SPEC_FILE}
[[ -f "$spec" ]] || { echo "$spec: no such spec file" >&2; exit 2; }
log=$OUT/log.txt
export C=data-pack/recognizers/tf2_mobilenet_v2_1.0_224_ptq.tflite
if [[ -z "${SKIP_INSTALL:-}" ]]; then
  scripts/gpu_train.sh --install >>"$log" 2>&1 || { tail -n 20 "$log"; exit 1; }
fi
pids=()
while read -r line; do
  [[ -z "${line// }" || "$line" == \#* ]] && continue
  eval "set -- $line"  # the spec's own quoting and $C
  name=$1
  scripts/gpu_train.sh "$@" > >(sed -u "s/^/[$name] /" >>"$log") 2>&1 &
  pids+=($!)
done < "$spec"
((${#pids[@]})) || { echo "$spec: no runs" >&2; exit 2; }
watch_gpu() {
  while command -v nvidia-smi >/dev/null; do
    echo "[gpu] $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)" >>"$log"
    sleep 60
  done
}
watch_gpu & watcher=$!
sleep "${EARLY_CHECK_S:-90}"
for pid in "${pids[@]}"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "a run ended in its first ${EARLY_CHECK_S:-90} s: stopping the call" >>"$log"
    pkill -INT -f "rnncodec.cli train" ; sleep 8; kill "$watcher" 2>/dev/null
    cat "$log"; exit 3
  fi
done
wait "${pids[@]}"
kill "$watcher" 2>/dev/null
grep -v "already exists" "$log" | tail -n 40
for f in "$OUT"/*.jsonl; do [[ -f "$f" ]] && { echo "== $f"; tail -n 2 "$f"; }; done
ls -la "$OUT"
exit 0
