"""map_nuswide: mAP@5000 at NUS-WIDE scale (2,100 queries × 193,734 codes, 32 bits, 21 classes).

    python benchmark/perf/map_nuswide.py [--device cuda] [--full]

CPU sizes by default (a tenth of the queries and database); ``--full`` for the paper sizes.
"""

from mapbench import run

FULL = {"queries": 2100, "database": 193734, "bits": 32, "classes": 21, "top_k": 5000}
CPU = {"queries": 210, "database": 19373, "bits": 32, "classes": 21, "top_k": 5000}

if __name__ == "__main__":
    run("map_nuswide", FULL, CPU, __doc__)
