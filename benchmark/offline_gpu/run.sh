#!/usr/bin/env bash
# The GPU figures on an offline CUDA machine (no package registry; see README.md beside
# this file): run from the repository root there, with .whl/ copied along.
#   bash benchmark/offline_gpu/run.sh [stage ...]     stages of benchmark/gpu_figures.sh
#                                                (default: tests paper-cpu attacks)
# It installs .whl/*.whl into /tmp/site (no index, no dependencies), puts python3 and a
# `robust-hashing` script into a shim bin folder, and runs gpu_figures.sh one stage at a
# time under a time budget, with wandb disabled (never imported then; not carried).
# A stage is started only while at least RH_DEVICE_MIN_STAGE_S seconds of the budget are
# left, and is stopped (SIGTERM, then SIGKILL) when the budget runs out, so the archive is
# always written. Finished runner cells stay cached in $SCRATCH/cache: a later call on the
# same warm machine resumes them (carry gpu-figures/cache to resume on a fresh one).
# Environment:
#   OUT                   where the bundle goes (default gpu-figures/bundle)
#   RH_DEVICE_BUDGET_S    seconds for the whole script (default 540)
#   RH_DEVICE_MIN_STAGE_S do not start a stage with fewer seconds left (default 60)
#   RH_SCRATCH            gpu_figures.sh's scratch folder: cache, logs (default gpu-figures)
#   RH_SITE, RH_BIN       install target and shim folder (default /tmp/site, /tmp/rh-bin)
#   RH_CODE_COMMIT        the commit to record (wins over git: the copy's .git may be stale)
# Bundle (three files, each at most 16 MiB, easy to copy back): figures.tar.gz (docs/results/*_gpu.json,
# the paper stage's leaderboard files, the scratch logs, timing tables and the cells'
# done.json/cell.json/logs), cache.tar.gz (the runner cache, when it packs to 15 MiB or
# less, if need be without context/), and summary.txt (stage statuses, wall seconds, tables).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
T0=$SECONDS
ROOT=$PWD
BUDGET=${RH_DEVICE_BUDGET_S:-540}
MIN_STAGE=${RH_DEVICE_MIN_STAGE_S:-60}
RESERVE=30  # seconds kept for the SIGKILL grace period and the archive
SCRATCH=${RH_SCRATCH:-gpu-figures}
BUNDLE=${OUT:-$SCRATCH/bundle}
SITE=${RH_SITE:-/tmp/site}
SHIM=${RH_BIN:-/tmp/rh-bin}
die() { echo "run.sh: $*" >&2; exit 2; }

STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=(tests paper-cpu attacks)
for stage in "${STAGES[@]}"; do
    case $stage in
    tests | paper-cpu | attacks | paper) ;;
    *) die "unknown stage '$stage' (tests, paper-cpu, attacks, paper)" ;;
    esac
done
[[ $BUDGET =~ ^[0-9]+$ && $MIN_STAGE =~ ^[0-9]+$ ]] ||
    die "RH_DEVICE_BUDGET_S and RH_DEVICE_MIN_STAGE_S must be whole seconds"
compgen -G ".whl/*.whl" >/dev/null ||
    die "no .whl/*.whl here: run bash benchmark/offline_gpu/wheels.sh on a machine with PyPI and copy .whl/ here"
PY=$(command -v python3) || die "no python3 on PATH"
command -v timeout >/dev/null || die "needs timeout (coreutils)"

# 1. the missing packages, without an index
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" .whl/*.whl || die "pip could not install .whl/*.whl into $SITE"
export PYTHONPATH=$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}
export WANDB_MODE=disabled PYTHONUNBUFFERED=1

# 2. the shim bin folder that gpu_figures.sh calls as $BIN/python and $BIN/robust-hashing
mkdir -p "$SHIM" "$SCRATCH" "$BUNDLE" || die "cannot create $SHIM, $SCRATCH or $BUNDLE"
printf '#!/bin/sh\nexec %q "$@"\n' "$PY" >"$SHIM/python"
printf '#!/bin/sh\nexec %q -m robust_hashing "$@"\n' "$PY" >"$SHIM/robust-hashing"
chmod +x "$SHIM/python" "$SHIM/robust-hashing"
"$SHIM/robust-hashing" --help >/dev/null || die "$SHIM/robust-hashing --help failed"

STATUS=$SCRATCH/device-stages.txt
{
    echo "run.sh on $(hostname) at $(date -u +%FT%TZ), budget ${BUDGET}s, stages: ${STAGES[*]}"
    echo "commit: ${RH_CODE_COMMIT:-$(git describe --always --dirty --abbrev=40 2>/dev/null ||
        echo "unknown (no .git here)")}"
    "$PY" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__,
          'cuda', torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device')"
} | tee "$STATUS"

# 3. the stages, each under what is left of the budget
FAILED=0
for i in "${!STAGES[@]}"; do
    stage=${STAGES[$i]}
    left=$((BUDGET - RESERVE - (SECONDS - T0)))
    if [ "$left" -lt "$MIN_STAGE" ]; then
        echo "not started (${left}s of the budget left): ${STAGES[*]:$i}" | tee -a "$STATUS"
        break
    fi
    echo "== $stage (at most ${left}s)"
    start=$SECONDS
    timeout --kill-after=15 "$left" env BIN="$SHIM" OUT="$SCRATCH" bash benchmark/gpu_figures.sh "$stage"
    rc=$?
    case $rc in
    0) what="done" ;;
    124 | 137) what="stopped at the budget (finished cells stay cached)" ;;
    *) what="failed (exit $rc)" ;;
    esac
    echo "$stage: $what after $((SECONDS - start))s" | tee -a "$STATUS"
    [ "$rc" -eq 0 ] || FAILED=1
    [ "$rc" -eq 2 ] && break  # gpu_figures.sh's usage error or no CUDA device: no point going on
done

# 4. the bundle: one archive of the figures and logs, the cache, a text summary
files=()
for f in docs/results/*_gpu.json leaderboard/leaderboard.csv leaderboard/leaderboard.html \
    leaderboard/results; do
    [ -e "$f" ] && files+=("$f")
done
for f in "$SCRATCH"/*.log "$SCRATCH"/*.md "$SCRATCH"/*.txt "$SCRATCH"/*.png "$SCRATCH"/paper-cpu \
    "$SCRATCH"/attacks-models; do
    [ -e "$f" ] && files+=("$f")
done
if [ -d "$SCRATCH/cache" ]; then
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$SCRATCH/cache" \
        \( -name done.json -o -name cell.json -o -name '*.log' \) -print0)
fi
tar -czf "$BUNDLE/figures.tar.gz" "${files[@]}" || echo "run.sh: figures.tar.gz is incomplete" >&2
# the cache, to resume on a fresh machine: whole, else without the attacks' recomputable
# context/ files (banks, trained generators), else not at all (a file comes back ≤ 16 MiB)
if [ -d "$SCRATCH/cache" ]; then
    for exclude in "" context; do
        tar -czf "$BUNDLE/cache.tar.gz" ${exclude:+--exclude="$exclude"} "$SCRATCH/cache"
        [ "$(stat -c %s "$BUNDLE/cache.tar.gz")" -le $((15 * 1024 * 1024)) ] && break
        rm -f "$BUNDLE/cache.tar.gz"
    done
    if [ ! -f "$BUNDLE/cache.tar.gz" ]; then
        echo "cache.tar.gz left out: over 15 MiB even without context/" | tee -a "$STATUS"
    elif [ -n "$exclude" ]; then
        echo "cache.tar.gz holds the cache without context/ (over 15 MiB with it)" | tee -a "$STATUS"
    fi
fi
{
    cat "$STATUS"
    for f in "$SCRATCH"/wall_seconds.txt "$SCRATCH"/*-times.md; do
        [ -f "$f" ] && printf '\n== %s\n' "$f" && cat "$f"
    done
    printf '\nrun.sh: %ss in all\n' "$((SECONDS - T0))"
} >"$BUNDLE/summary.txt"
ls -l "$BUNDLE"
cat "$BUNDLE/summary.txt"
exit "$FAILED"
