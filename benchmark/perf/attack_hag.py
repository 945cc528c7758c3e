"""attack_hag: HAG, reference recipe against our production attack.

    python benchmark/perf/attack_hag.py [--device cuda] [--full]

``--full``: AlexNet-32 at 224 px, batch 128, 100 iterations; CPU default: 64 px, batch 8, 5.
"""

from attackbench import hag, reference_hag, run

if __name__ == "__main__":
    run("attack_hag", hag, reference_hag, __doc__)
