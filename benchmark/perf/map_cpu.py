"""map_cpu: mAP@5000 at the full NUS-WIDE scale on the CPU (2,100 × 193,734, 32 bits, 21 classes).

    python benchmark/perf/map_cpu.py

The same sizes with or without ``--full``; meant for ``--device cpu`` (the default).
"""

from mapbench import run

NUS_WIDE = {"queries": 2100, "database": 193734, "bits": 32, "classes": 21, "top_k": 5000}

if __name__ == "__main__":
    run("map_cpu", NUS_WIDE, NUS_WIDE, __doc__)
