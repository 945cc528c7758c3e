"""The worker's provenance: the device recorded is the one the cell ran on."""

from __future__ import annotations

import torch

from robust_hashing.benchmark.worker import environment


def test_environment_names_the_cells_device(monkeypatch) -> None:
    env = environment("cpu")
    assert env["device"].startswith("cpu (") and env["torch"] == torch.__version__
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
