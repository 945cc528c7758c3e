"""Which CPU kernel settings change the figures: a short clean training under each setting.

Trains the quick profile's clean model (32-bit DPSH, small CNN, embedded data, seed 0) for
``--steps`` steps in a fresh process per setting and prints a digest of the weights, whether
it equals the default run's, and the seconds as a ratio to the default's. Settings that give
another digest change every figure that depends on the model (why CPU leaderboards differ
between processors; see README, "CPU figures depend on the CPU").

    .venv/bin/python benchmark/cpu_kernels.py [--steps 60]

The last line groups the settings that give the same weights.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

SETTINGS = {
    "default": {},
    "ATen at AVX2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "oneDNN at AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "both at AVX2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "AVX2, 1 thread": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "OMP_NUM_THREADS": "1",
    },
    "no oneDNN": {"RH_NO_ONEDNN": "1"},  # convolutions through ATen's own kernels
    "no oneDNN, 1 thr": {"RH_NO_ONEDNN": "1", "OMP_NUM_THREADS": "1"},
}


def train(steps: int) -> dict:
    """Train ``steps`` steps in this process; the weights' digest and the seconds."""
    import lightning as L
    import torch

    from robust_hashing.datamodules import EmbeddedDataModule
    from robust_hashing.tasks import HashingTask

    if os.environ.get("RH_NO_ONEDNN") == "1":
        torch.backends.mkldnn.enabled = False
    L.seed_everything(0, workers=True)
    dm = EmbeddedDataModule(seed=0, batch_size=64)
    dm.prepare_data()
    dm.setup("fit")
    task = HashingTask(backbone="small_cnn", bits=32, loss="dpsh", num_train=dm.num_train,
                       num_classes=dm.num_classes, optimizer="adam", lr=0.002)  # fmt: skip
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", logger=False, limit_val_batches=0,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    start = time.perf_counter()
    trainer.fit(task, datamodule=dm)
    seconds = time.perf_counter() - start
    weights = torch.cat([p.detach().flatten() for p in task.parameters()]).numpy()
    return {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "digest": hashlib.sha256(weights.tobytes()).hexdigest()[:16],
        "seconds": seconds,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60, help="training steps (default: %(default)s)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(train(args.steps)))
        return
    base = None
    groups: dict[str, list[str]] = {}
    print(f"{'setting':<16} {'ATen':<8} {'threads':>7}  {'weights digest':<16}  same  time")
    for name, extra in SETTINGS.items():
        env = {**os.environ, "WANDB_MODE": "disabled", **extra}
        run = subprocess.run([sys.executable, __file__, "--child", "--steps", str(args.steps)],
                             env=env, capture_output=True, text=True, check=True)  # fmt: skip
        result = json.loads(run.stdout.strip().splitlines()[-1])
        base = base or result
        same = "yes" if result["digest"] == base["digest"] else "NO"
        ratio = result["seconds"] / base["seconds"]
        print(f"{name:<16} {result['capability']:<8} {result['threads']:>7}  "
              f"{result['digest']:<16}  {same:<4}  {ratio:.2f}x", flush=True)  # fmt: skip
        groups.setdefault(result["digest"], []).append(name)
    print("same weights:", "; ".join(" = ".join(g) for g in groups.values()))


if __name__ == "__main__":
    main()
