"""map_coco: mAP@5000 at MS-COCO scale (5,000 queries × 117,218 codes, 32 bits, 80 classes).

    python benchmark/perf/map_coco.py [--device cuda] [--full]

CPU sizes by default (a tenth of the queries and database); ``--full`` for the paper sizes.
"""

from mapbench import run

FULL = {"queries": 5000, "database": 117218, "bits": 32, "classes": 80, "top_k": 5000}
CPU = {"queries": 500, "database": 11722, "bits": 32, "classes": 80, "top_k": 5000}

if __name__ == "__main__":
    run("map_coco", FULL, CPU, __doc__)
