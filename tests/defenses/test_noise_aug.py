"""The ``noise_aug`` baseline: uniform noise within ε, else clean training; not in ``all``."""

from __future__ import annotations

import torch

from robust_hashing.defenses import NoDefense, get_defense, grid_defenses, list_defenses
from tests.defenses.tiny_data import build, fit, weights


def test_noise_is_uniform_within_eps_and_the_image_range() -> None:
    task = build(get_defense("noise_aug"), attack_eps=0.1)
    x = torch.full((8, 3, 16, 16), 0.5)
    x[0] = 0.0  # half of its noise is cut off by the clamp
    torch.manual_seed(0)
    delta = task.noisy(x) - x
    assert delta.abs().max() <= 0.1 + 1e-6 and (task.noisy(x) >= 0).all()
    inside = delta[1:]
    assert abs(inside.abs().mean().item() - 0.05) < 0.005  # E|U(-ε, ε)| = ε/2
    assert abs(inside.mean().item()) < 0.005
    assert (delta[0] >= 0).all() and (delta[0] > 0).float().mean() > 0.4


def test_without_noise_it_is_clean_training() -> None:
    """ε = 0 reproduces the clean fine-tuning of ``none`` bit for bit; ε > 0 departs from it."""
    runs = {}
    for name, cls, eps in [("clean", NoDefense, 0.0), ("zero", get_defense("noise_aug"), 0.0),
                           ("noisy", get_defense("noise_aug"), 16 / 255)]:  # fmt: skip
        task = build(cls, attack_eps=eps)
        fit(task, max_steps=2)
        runs[name] = (weights(task), task.B.clone())
    (clean, b_clean), (zero, b_zero), (noisy, _) = runs["clean"], runs["zero"], runs["noisy"]
    assert all(torch.equal(clean[k], zero[k]) for k in clean) and torch.equal(b_clean, b_zero)
    assert any(not torch.equal(clean[k], noisy[k]) for k in clean)


def test_trained_only_when_named() -> None:
    assert "noise_aug" in list_defenses()
    assert "noise_aug" not in grid_defenses()
    assert {"none", "atrdh", "cgat", "saat", "colo_tride"} <= set(grid_defenses())
