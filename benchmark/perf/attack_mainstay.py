"""attack_mainstay: SAAT's Mainstay-PGD, reference recipe against our production attack.

    python benchmark/perf/attack_mainstay.py [--device cuda] [--full]

``--full``: AlexNet-32 at 224 px, batch 128, PGD-100; CPU default: 64 px, batch 8, PGD-5.
"""

from attackbench import mainstay, reference_pgd, run

if __name__ == "__main__":
    run("attack_mainstay", mainstay, reference_pgd, __doc__)
