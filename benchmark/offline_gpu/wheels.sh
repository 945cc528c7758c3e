#!/usr/bin/env bash
# Download, here (where pip reaches PyPI), the pinned wheels that a typical offline CUDA
# lacks for benchmark/gpu_figures.sh, into .whl/ at the repository root (git-ignored).
# Copy .whl/ to the offline CUDA machine with the checkout; benchmark/offline_gpu/run.sh
# installs them there with --no-index --no-deps.
# Usage: bash benchmark/offline_gpu/wheels.sh
#   WHL_DIR=DIR      download elsewhere (default: .whl)
#   PY_VERSION=3.11  wheels for another interpreter (default: 3.12, a common CUDA image's python3)
# The versions are those of the project's development venv (they satisfy pyproject.toml).
# The image already has torch, lightning, torchmetrics, numpy, pandas, matplotlib, pillow,
# pyyaml, tqdm, typing-extensions, pytest and pytest-timeout. Not downloaded: wandb (the
# offline runs use WANDB_MODE=disabled, which never imports it) and submitit (only the
# SLURM executor and its tests use it; no GPU stage does).
set -euo pipefail
cd "$(dirname "$0")/../.."
WHL_DIR=${WHL_DIR:-.whl}
PY_VERSION=${PY_VERSION:-3.12}
WHEELS=(
    jsonargparse==4.53.0       # LightningCLI (`robust-hashing fit`), pyproject: jsonargparse[signatures]>=4.27
    docstring-parser==0.18.0   # jsonargparse[signatures]
    typeshed-client==2.15.0    # jsonargparse[signatures]; needs typing-extensions (in the image)
    animal-mnist==0.4          # the embedded data set's source files (declares tensorflow, unused)
)
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64
    manylinux1_x86_64)
mkdir -p "$WHL_DIR"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for spec in "${WHEELS[@]}"; do
    spec=${spec%%#*}
    name=${spec%%==*}
    file=$(echo "$name" | tr - _)  # wheel file names spell the project with underscores
    version=${spec##*==}
    # keep one version of each: a second one would stop the whole offline install
    for old in "$WHL_DIR/$file"-*.whl; do
        [ -e "$old" ] || continue
        case $old in "$WHL_DIR/$file-$version-"*) ;; *) rm -f "$old" ;; esac
    done
    if ! python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" \
        --implementation cp "${PLATFORMS[@]/#/--platform=}" -d "$WHL_DIR" "$spec" >"$log" 2>&1; then
        echo "wheels.sh: pip could not download $spec for Python $PY_VERSION:" \
            "$(grep -m1 -E 'ERROR|error' "$log" || tail -n1 "$log")" >&2
        exit 1
    fi
done
ours=()
for spec in "${WHEELS[@]}"; do
    spec=${spec%%#*}
    ours+=("$WHL_DIR/$(echo "${spec%%==*}" | tr - _)-${spec##*==}"-*.whl)
done
ls -1 "${ours[@]}"
all=$(find "$WHL_DIR" -maxdepth 1 -type f -name '*.whl' | wc -l)
[ "$all" -eq ${#ours[@]} ] ||
    echo "wheels.sh: note: $WHL_DIR holds $((all - ${#ours[@]})) other wheel(s); they travel and install too"
echo "total: $(du -ch "${ours[@]}" | tail -n1 | cut -f1) in ${#ours[@]} wheels under $WHL_DIR/"
