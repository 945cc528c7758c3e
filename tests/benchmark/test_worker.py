"""The worker's provenance: the device recorded is the one the cell ran on."""

from __future__ import annotations

import torch

from robust_hashing.benchmark import worker
from robust_hashing.benchmark.worker import cpu_kind, environment


def test_environment_names_the_cells_device(monkeypatch) -> None:
    env = environment("cpu")
    assert env["device"].startswith(f"cpu ({cpu_kind()}, ") and env["torch"] == torch.__version__
    threads = torch.get_num_threads()
    try:  # CPU results depend on the thread count: it is part of the record
        torch.set_num_threads(1)
        assert environment("cpu")["device"].endswith(", 1 thread)")
        torch.set_num_threads(2)
        assert environment("cpu")["device"].endswith(", 2 threads)")
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Fake GPU")
    assert environment("gpu")["device"] == "cuda (Fake GPU)"
    assert environment("auto")["device"] == "cuda (Fake GPU)"
    assert environment("cpu")["device"].startswith("cpu (")  # a CPU cell on a GPU machine


def test_cpu_kind_names_the_simd_level_and_the_processor(monkeypatch, tmp_path) -> None:
    # CPU figures move with the kernels torch picks, so the record must tell CPUs apart
    monkeypatch.setattr(worker.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Intel(R) Xeon(R)  CPU @ 2.20GHz, rev 1\n")
    real_open = open
    monkeypatch.setattr(
        "builtins.open",
        lambda path, *a, **k: real_open(info if path == "/proc/cpuinfo" else path, *a, **k),
    )
    assert cpu_kind() == "x86_64 AVX2, Intel(R) Xeon(R) CPU @ 2.20GHz rev 1"
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert cpu_kind().startswith("x86_64 AVX512, ")
