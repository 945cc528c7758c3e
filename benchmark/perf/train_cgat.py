"""train_cgat: one CgAT min-max training step, reference recipe against ours.

    python benchmark/perf/train_cgat.py [--device cuda] [--full]

``--full``: VGG-11-32 at 224 px, batch 32, PGD-7; CPU default: 32 px, batch 4, PGD-2.
"""

from trainbench import run

if __name__ == "__main__":
    run("cgat", __doc__)
