"""COLO-TRIDE-H: distances, weighted means, miner, CAP/ANP, the e/E ramp, the 56-row steps."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.defenses import ColoTride
from robust_hashing.defenses.colo_tride import low_half, relaxed_hamming, weighted_mean
from tests.defenses.tiny_data import TinyDataModule, build, fit, weights


def test_relaxed_hamming_and_weighted_mean() -> None:
    u = torch.tensor([[1.0, 1, 1, 1]])
    assert relaxed_hamming(u, u).item() == 0 and relaxed_hamming(u, -u).item() == 1
    d = torch.tensor([0.1, 0.5, 0.9])
    assert torch.isclose(weighted_mean(d, 0.0), d.mean())
    assert weighted_mean(d, 1e4) > 0.89
    assert torch.isclose(low_half(d), torch.tensor(0.1))


def test_miner_prefers_gradual_hard_negatives() -> None:
    task = build(ColoTride)
    y = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1], [1, 1]])
    k = task.hparams.bits
    u = torch.ones(5, k)
    u[1, : k // 16] = -1  # positive: d_ap = 1/16
    u[2, : k // 8] = -1  # hard negative: d = 1/8 (d_ap < d < d_ap + m_g)
    u[3] = -1  # easy negative: d = 1
    task.epoch_ramp = lambda: 0.0  # type: ignore[method-assign]
    torch.manual_seed(0)
    for _ in range(5):
        neg, valid = task.mine(u, y, torch.tensor([0]), torch.tensor([1]))
        assert valid.tolist() == [True] and neg.tolist() == [2]
    neg, valid = task.mine(u, y, torch.tensor([4]), torch.tensor([0]))
    assert valid.tolist() == [False]


def test_cap_and_anp_stay_in_budget() -> None:
    task = build(ColoTride)
    with torch.no_grad():  # saturate the outputs, as a trained model's are
        task.model.hash_layer.weight.mul_(300)
    x = TinyDataModule().train.images[:6]
    with torch.no_grad():
        h = task.model(x)[1]
    xa = task.anp(x[:2], h[:2], h[2:4], h[4:], ramp=1.0)
    assert 0 < (xa - x[:2]).abs().max() <= 8 / 255 + 1e-6
    xpn = task.cap(x[2:4], x[4:], h[:2], ramp=1.0)
    assert (xpn - x[2:]).abs().max() <= 8 / 255 + 1e-6
    assert torch.equal(task.anp(x[:2], h[:2], h[2:4], h[4:], ramp=0.0), x[:2])


def test_cap_and_anp_run_once_the_ramp_is_positive() -> None:
    task = build(ColoTride, attack_steps=3)
    before = weights(task)
    calls: list[tuple[str, float]] = []
    for kind in ("cap", "anp"):
        original = getattr(task, kind)

        def spy(*args, _kind=kind, _original=original):  # type: ignore[no-untyped-def]
            calls.append((_kind, args[-1]))
            return _original(*args)

        setattr(task, kind, spy)
    trainer = fit(task, max_steps=-1, max_epochs=2, limit_train_batches=2)
    assert trainer.global_step == 4
    assert calls == [("cap", 0.5), ("anp", 0.5)]  # epoch 0: no perturbation (e/E = 0)
    assert "collapseness" in trainer.callback_metrics
    assert any(not torch.equal(before[k], v) for k, v in weights(task).items())


def _record_steps(task: ColoTride) -> list[dict[str, torch.Tensor]]:
    """Spy on the step's batch building, bank writes and hashing loss."""
    steps: list[dict[str, torch.Tensor]] = []
    build_rows, update_banks, compute = (
        task.triplet_batch,
        task.update_banks,
        task.hash_loss.compute,
    )

    def triplet_batch(x, y, idx):  # type: ignore[no-untyped-def]
        out = build_rows(x, y, idx)
        steps.append({"batch_y": y.clone(), "batch_idx": idx.clone()})
        steps[-1].update(x=out[0].clone(), y=out[1].clone(), idx=out[2].clone())
        return out

    def banks(u, labels, index):  # type: ignore[no-untyped-def]
        steps[-1]["bank_idx"] = index.clone()
        return update_banks(u, labels, index)

    def loss(u, labels):  # type: ignore[no-untyped-def]
        steps[-1]["loss_rows"] = torch.tensor(len(u))
        return compute(u, labels)

    task.triplet_batch = triplet_batch  # type: ignore[method-assign]
    task.update_banks = banks  # type: ignore[method-assign]
    task.hash_loss.compute = loss  # type: ignore[method-assign]
    return steps


def test_a_step_is_28_anchors_and_their_56_rows() -> None:
    task = build(ColoTride, attack_steps=1)
    steps = _record_steps(task)
    fit(task, max_steps=3)
    data = TinyDataModule().train
    assert len(steps) == 3
    for step in steps:
        x, y, idx = step["x"], step["y"], step["idx"]
        assert len(x) == len(y) == len(idx) == 56
        assert torch.equal(step["bank_idx"], idx) and int(step["loss_rows"]) == 56
        # every row carries its own training-list index (images and labels match the data)
        assert torch.equal(x, data.images[idx]) and torch.equal(y, data.labels[idx])
        anchors = idx[:28]
        assert len(anchors.unique()) == 28 and (y[:28].sum(1) > 0).all()
        assert ((y[:28] * y[28:]).sum(1) > 0).all()  # each positive shares a label
        # the loader batch (8 rows) has fewer than 28 labelled rows: they come first,
        # then random labelled training rows fill up to 28 anchors
        own = step["batch_idx"][step["batch_y"].sum(1) > 0]
        assert torch.equal(anchors[: len(own)], own)


def test_anchors_are_the_first_labelled_batch_rows() -> None:
    task = build(ColoTride, num_anchors=3, attack_steps=1)
    steps = _record_steps(task)
    fit(task, max_steps=2)
    for step in steps:
        own = step["batch_idx"][step["batch_y"].sum(1) > 0]
        assert len(step["idx"]) == 6
        assert torch.equal(step["idx"][:3], own[:3])
        assert ((step["y"][:3] * step["y"][3:]).sum(1) > 0).all()


def test_a_training_set_smaller_than_the_anchors_repeats_rows() -> None:
    # more anchors than labelled training rows: the top-up draws with replacement and the
    # step still runs (a fixture-sized dataset; it used to fail on the repeats)
    labelled = int((TinyDataModule().train.labels.sum(1) > 0).sum())
    task = build(ColoTride, num_anchors=labelled + 5, attack_steps=1)
    steps = _record_steps(task)
    fit(task, max_steps=1)
    anchors = steps[0]["idx"][: labelled + 5]
    assert len(steps[0]["idx"]) == 2 * (labelled + 5)
    assert len(anchors.unique()) < len(anchors)
    own = steps[0]["batch_idx"][steps[0]["batch_y"].sum(1) > 0]
    assert torch.equal(anchors[: len(own)], own)


def test_draw_anchors_tops_up_with_labelled_rows() -> None:
    task = build(ColoTride)
    labels = TinyDataModule().train.labels
    task.Y.copy_(labels)
    taken = torch.tensor([2, 3, 4, 5])
    rows = task.draw_anchors(20, taken)
    assert len(rows.unique()) == 20 and (labels[rows].sum(1) > 0).all()
    assert not set(rows.tolist()) & set(taken.tolist())
    rows = task.draw_anchors(40, taken)  # more than the 26 labelled rows left
    assert len(rows) == 40 and (labels[rows].sum(1) > 0).all()
    task.Y.zero_()
    with pytest.raises(RuntimeError, match="labels"):
        task.draw_anchors(1, taken)


def test_load_rows_checks_the_dataset_index() -> None:
    task = build(ColoTride)
    data = TinyDataModule().train
    task.train_dataset = lambda: data  # type: ignore[method-assign]
    x, y, idx = task.load_rows(torch.tensor([5, 3]))
    assert torch.equal(x, data.images[[5, 3]]) and torch.equal(y, data.labels[[5, 3]])
    assert idx.tolist() == [5, 3]

    class Shifted:
        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
            return data.images[i], data.labels[i], i + 1

    task.train_dataset = lambda: Shifted()  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="training-list row"):
        task.load_rows(torch.tensor([5]))


def test_cap_anp_alternate_with_the_global_step_across_epochs() -> None:
    task = build(ColoTride, attack_steps=1)
    calls: list[tuple[str, int]] = []
    for kind in ("cap", "anp"):
        original = getattr(task, kind)

        def spy(*args, _kind=kind, _original=original):  # type: ignore[no-untyped-def]
            calls.append((_kind, task.global_step))
            return _original(*args)

        setattr(task, kind, spy)
    trainer = fit(task, max_steps=-1, max_epochs=3, limit_train_batches=3)
    assert trainer.global_step == 9
    # epoch 0 has e/E = 0 (no perturbation); an odd number of batches per epoch makes
    # the epoch-local batch index and the global step disagree in epoch 1
    assert calls == [
        ("anp", 3), ("cap", 4), ("anp", 5),
        ("cap", 6), ("anp", 7), ("cap", 8),
    ]  # fmt: skip
