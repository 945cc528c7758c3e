#!/usr/bin/env bash
# Every GPU figure the project still owes, on one CUDA machine, next to the committed CPU
# figures. Stages (default: all, in this order; each is resumable, the runner's cache
# lives in $OUT/cache):
#   tests      the gpu tests (= make test-gpu): every device-parametrised test on CUDA
#   paper-cpu  the benchmark/paper_cpu.yaml grid on one GPU: defense training and attack
#              cell seconds against the CPU run (leaderboard/paper-cpu, docs/results)
#   attacks    the clean-model attack table at paper settings (benchmark/paper_attacks.py,
#              same arguments as the CPU table in docs/results); trains paper-cpu's clean
#              model first when the cache lacks it, so it also runs alone
#   paper      the paper profile (benchmark/paper.yaml) on the visible GPUs, PER_GPU
#              cells at once on each (default 4: its small models leave a GPU idle), into
#              leaderboard/, with its total wall time (paper-cpu runs one cell at a time,
#              so that its cell seconds compare with the CPU's)
# Usage: bash benchmark/gpu_figures.sh [stage ...]      (OUT=gpu-figures by default)
# BIN (default .venv/bin, made by `make install` when missing) holds the python and
# robust-hashing it runs; benchmark/offline_gpu/run.sh points it at a shim folder instead.
# Outputs to commit: docs/results/*_gpu.json and leaderboard/ (paper profile).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-figures}
BIN=${BIN:-.venv/bin}
PER_GPU=${PER_GPU:-4}
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=(tests paper-cpu attacks paper)
for stage in "${STAGES[@]}"; do
    case $stage in
    tests | paper-cpu | attacks | paper) ;;
    *) echo "gpu_figures.sh: unknown stage '$stage' (tests, paper-cpu, attacks, paper)" >&2; exit 2 ;;
    esac
done
export WANDB_MODE=${WANDB_MODE:-offline}

[ -x "$BIN/robust-hashing" ] || make install
if ! "$BIN/python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_figures.sh: $BIN/python sees no CUDA device (the CPU figures are already in docs/results)" >&2
    exit 2
fi
mkdir -p "$OUT"
DEVICE=$("$BIN/python" -c "import torch; print(torch.cuda.get_device_name(0))")
echo "device: $DEVICE; outputs under $OUT/ and docs/results/"

# Same attacks and ProS-GAN budget as docs/results/clean_model_attacks_paper_cpu_amd_epyc.json:
# all eleven, so that the table attacks one clean model (hag, mainstay and dhta are also
# paper-cpu cells, but paper-cpu trains its own clean model when the stages run apart).
ATTACKS=mainstay,cgat_pgd,hag,sdha,dhta:targeted,sdha:targeted,mainstay:targeted,p2p:targeted
ATTACKS+=,tha:targeted,prosgan:targeted,prosgan_clip:targeted
PROSGAN_HP=()
for a in prosgan prosgan_clip; do
    PROSGAN_HP+=(--hp "$a.proto_epochs=20" --hp "$a.gan_epochs=6" --hp "$a.decay_epochs=2" --hp "$a.gan_batches=50")
done

timed() {  # timed NAME CMD...: run, log to $OUT/NAME.log, append the wall seconds
    local name=$1 start=$SECONDS
    shift
    "$@" 2>&1 | tee "$OUT/$name.log"
    echo "$name: $((SECONDS - start)) s wall on $DEVICE" | tee -a "$OUT/wall_seconds.txt"
}

for stage in "${STAGES[@]}"; do
    case $stage in
    tests)
        WANDB_MODE=disabled timed tests "$BIN/python" -m pytest -q -m gpu ;;
    paper-cpu)
        timed paper-cpu "$BIN/robust-hashing" benchmark --grid benchmark/paper_cpu.yaml \
            --devices 1 --cache-dir "$OUT/cache" --leaderboard-dir "$OUT/paper-cpu"
        "$BIN/python" benchmark/cell_times.py --run "$OUT/cache" --grid benchmark/paper_cpu.yaml \
            --baseline leaderboard/paper-cpu --baseline docs/results/paper_cpu_training_cpu.json \
            --out docs/results/paper_cpu_cells_gpu.json | tee "$OUT/paper-cpu-times.md"
        # does the GPU board reproduce the committed CPU board? (informative: exit 1 = no)
        "$BIN/robust-hashing" leaderboard compare leaderboard/paper-cpu "$OUT/paper-cpu" \
            --plot "$OUT/paper-cpu-compare.png" | tee "$OUT/paper-cpu-compare.txt" || true ;;
    attacks)
        # the clean model it attacks: cached after paper-cpu, trained here when run alone
        timed attacks-models "$BIN/robust-hashing" benchmark --grid benchmark/paper_cpu.yaml \
            --only 'defense/*/none' --devices 1 --cache-dir "$OUT/cache" \
            --leaderboard-dir "$OUT/attacks-models"
        timed attacks "$BIN/python" benchmark/paper_attacks.py --grid benchmark/paper_cpu.yaml \
            --cache-dir "$OUT/cache" --defenses none --max-queries 40 --attacks "$ATTACKS" \
            "${PROSGAN_HP[@]}" --out docs/results/clean_model_attacks_paper_cpu_gpu.json
        "$BIN/python" benchmark/cell_times.py --run docs/results/clean_model_attacks_paper_cpu_gpu.json \
            --baseline docs/results/clean_model_attacks_paper_cpu_amd_epyc.json | tee "$OUT/attacks-times.md"
        "$BIN/python" benchmark/attack_table.py docs/results/clean_model_attacks_paper_cpu_gpu.json \
            --check --plot "$OUT/attacks.png" | tee "$OUT/attacks-table.md" || true ;;
    paper)
        timed paper "$BIN/robust-hashing" benchmark --grid benchmark/paper.yaml --devices auto \
            --per-gpu "$PER_GPU" --cache-dir "$OUT/cache"
        "$BIN/python" benchmark/cell_times.py --run "$OUT/cache" --grid benchmark/paper.yaml \
            --out docs/results/paper_cells_gpu.json > "$OUT/paper-times.md" ;;
    esac
done
cat "$OUT/wall_seconds.txt"
