#!/usr/bin/env bash
# Every performance workload at the full sizes on one CUDA machine, offline: no package
# index is needed (the machine's python with torch, or .venv when present, and the
# repository on PYTHONPATH). Writes benchmark/perf/results.json (records of this device
# replace older ones) and a log per workload under $OUT (default perf-gpu/).
#   bash benchmark/perf/gpu.sh [workload ...]     (default: all, paper_profile last)
# Budget: about 5 minutes without paper_profile on an H100/H200 (the numpy baselines of
# map_nuswide and map_coco take most of it); paper_profile runs the whole paper grid.
# PY (default .venv/bin/python, else python3) picks the interpreter.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-perf-gpu}
PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3)}
WORKLOADS=("$@")
[ ${#WORKLOADS[@]} -eq 0 ] && WORKLOADS=(map_nuswide map_coco attack_mainstay attack_hag
    train_cgat train_saat attack_run_e2e map_cpu paper_profile)
export WANDB_MODE=disabled PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" ||
    { echo "gpu.sh: $PY sees no CUDA device" >&2; exit 2; }
mkdir -p "$OUT"
"$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" | tee "$OUT/device.txt"
FAILED=0
for w in "${WORKLOADS[@]}"; do
    [ -f "benchmark/perf/$w.py" ] || { echo "gpu.sh: unknown workload $w" >&2; exit 2; }
    device=cuda
    [ "$w" = map_cpu ] && device=cpu  # the CPU figure of the same host, for reference
    start=$SECONDS
    "$PY" "benchmark/perf/$w.py" --device "$device" --full 2>&1 | tee "$OUT/$w.log"
    status=${PIPESTATUS[0]}
    echo "$w: exit $status, $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
    [ "$status" -eq 0 ] || FAILED=1
done
cp benchmark/perf/results.json "$OUT/" 2>/dev/null
exit $FAILED
