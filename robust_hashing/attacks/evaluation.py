"""Lightning wrapper evaluating one attack on the query split (protocol §5–7).

:class:`AttackEvaluation` is run with ``trainer.test(task, dataloaders=query_loader)``;
each ``test_step`` attacks a query batch ``(x, y, idx)`` and encodes the clean and
adversarial queries. At epoch end the per-query results are gathered across processes,
de-duplicated by dataset index, scored against the database, logged, and stored in
:attr:`AttackEvaluation.report`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import lightning as L
import torch
from torch import Tensor

from robust_hashing.attacks.base import AttackContext, HashAttack
from robust_hashing.attacks.targets import draw_target_labels, load_or_draw_targets
from robust_hashing.constants import NORM
from robust_hashing.metrics import (
    P_AT_N,
    average_precision_per_query,
    bit_flip_rate,
    map_from_ap,
    map_standard_error,
    mean_average_precision,
    precision_at_n,
    targeted_asr,
    untargeted_asr,
)
from robust_hashing.models import HashNet
from robust_hashing.ops import sign

_FIELDS = ("idx", "adv", "clean", "labels", "targets", "theory", "linf", "l2", "mse")


class AttackEvaluation(L.LightningModule):
    """Attack the query set and score it (mAP, t-mAP, ASR, bit flips, perceptibility, theory).

    Args:
        attack: registered attack name or a built :class:`HashAttack`.
        model: frozen hash network under attack (default: the attack instance's model).
        db_codes: D×K ±1 database codes of ``model`` (default: ``context.db_codes``).
        db_labels: D×C database labels (default: ``context.db_labels``).
        context: attack context (needed when ``attack`` is a name that uses one).
        targets: Q×C target labels indexed by query dataset index (targeted attacks). If
            None, they are loaded from / drawn into ``targets_path`` (or drawn in memory)
            from the query loader's ``dataset.labels`` when testing starts (§5.1 rule).
        targets_path: ``.pt``/``.npy`` file storing the dataset's target labels.
        seed: seed of the target draw.
        attack_hp: keyword hyper-parameters when ``attack`` is a name (e.g. ``targeted``).
        quick: build the attack with its ``quick`` overrides.
        top_k: mAP depth k (protocol headline 5000; None = full ranking).
        asr_n: N of ASR@N.
        p_at_n: the N of the P@N curve (protocol §5: 100, 110, …, 1000).
        keep_examples: how many (clean, adversarial) image pairs of the first batches to
            keep in :attr:`examples` (for logging; this process's queries only).
        keep_adversarial: keep every adversarial query, in query order, in
            :attr:`adversarial` as ``(dataset indices, images)`` (for the transfer track).
    """

    def __init__(
        self,
        attack: str | HashAttack,
        model: HashNet | None = None,
        db_codes: Tensor | None = None,
        db_labels: Tensor | None = None,
        *,
        context: AttackContext | None = None,
        targets: Tensor | None = None,
        targets_path: str | Path | None = None,
        seed: int = 0,
        attack_hp: dict[str, Any] | None = None,
        quick: bool = False,
        top_k: int | None = 5000,
        asr_n: int = 100,
        p_at_n: tuple[int, ...] = P_AT_N,
        keep_examples: int = 8,
        keep_adversarial: bool = False,
    ) -> None:
        super().__init__()
        from robust_hashing.attacks import get_attack

        if isinstance(attack, str):
            if model is None:
                raise ValueError("AttackEvaluation: pass the model when the attack is a name")
            attack = get_attack(attack, model, context, quick=quick, **(attack_hp or {}))
        model = attack.model if model is None else model
        if db_codes is None or db_labels is None:
            if context is None:
                raise ValueError("AttackEvaluation: pass db_codes/db_labels or a context")
            db_codes, db_labels = context.db_codes, context.db_labels
        self.model = model.eval().requires_grad_(False)
        self.attack = attack
        self.targets = None if targets is None else targets.float().cpu()
        self.targets_path = None if targets_path is None else Path(targets_path)
        self.seed = seed
        self.db_codes, self.db_labels = db_codes.float().cpu(), db_labels.float().cpu()
        self.top_k, self.asr_n, self.p_at_n = top_k, asr_n, [int(n) for n in p_at_n]
        self.report: dict[str, Any] = {}
        self.keep_examples = keep_examples
        self.examples: tuple[Tensor, Tensor] | None = None
        self.keep_adversarial = keep_adversarial
        self.adversarial: tuple[Tensor, Tensor] | None = None
        self._parts: dict[str, list[Tensor]] = {}
        self._seconds = 0.0
        self._prepare_seconds = 0.0

    def _query_labels(self) -> Tensor:
        loaders = self.trainer.test_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        labels = getattr(getattr(loader, "dataset", None), "labels", None)
        if labels is None:
            raise ValueError(
                f"targeted attack {self.attack.name!r} needs target labels: pass targets= or "
                "test on a loader whose dataset has a .labels tensor"
            )
        return torch.as_tensor(labels).float().cpu()

    def on_test_start(self) -> None:
        """Fix the target labels, then train or load the attack's networks (untimed)."""
        if self.attack.targeted and self.targets is None:
            query_labels = self._query_labels()
            if self.targets_path is not None:
                self.targets = load_or_draw_targets(
                    self.targets_path, query_labels, self.db_labels, seed=self.seed
                )
            else:
                self.targets = draw_target_labels(query_labels, self.db_labels, seed=self.seed)
        start = time.perf_counter()
        with torch.inference_mode(False):
            self.attack.prepare()
        self._prepare_seconds = time.perf_counter() - start
        self._parts = {f: [] for f in _FIELDS}
        self._seconds = 0.0
        self.examples = None

    def test_step(self, batch: Any, batch_idx: int) -> None:
        """Attack one query batch and keep its codes (Lightning may run this in inference mode)."""
        with torch.inference_mode(False), torch.enable_grad():
            x, y, idx = (t.clone() for t in batch[:3])
            y = y.float()
            t = None if not self.attack.targeted else self.targets[idx.cpu()].to(x)  # type: ignore[index]
            start = time.perf_counter()
            adv = self.attack(x, y, t)
            self._seconds += time.perf_counter() - start
            theory = self.attack.theory_codes(x, y, t)
        self._keep(x, adv)
        delta = (adv.double() - x.double()).flatten(1)
        k = self.model.bits
        part = {
            "idx": idx.long(),
            "adv": self.model.encode(adv),
            "clean": self.model.encode(x),
            "labels": y,
            "targets": t if t is not None else torch.zeros_like(y),
            "theory": theory.float() if theory is not None else x.new_zeros(len(x), k),
            "linf": delta.abs().amax(1),
            "l2": delta.norm(dim=1),
            "mse": delta.pow(2).mean(1),
        }
        if self.keep_adversarial:
            part["images"] = adv.detach()
        for name, value in part.items():
            self._parts.setdefault(name, []).append(value.detach())

    def _keep(self, x: Tensor, adv: Tensor) -> None:
        """Append the batch's first images to :attr:`examples`, up to ``keep_examples``."""
        have = 0 if self.examples is None else len(self.examples[0])
        take = max(0, self.keep_examples - have)
        if take == 0:
            return
        clean, attacked = x[:take].detach().cpu(), adv[:take].detach().cpu()
        if self.examples is not None:
            clean = torch.cat([self.examples[0], clean])
            attacked = torch.cat([self.examples[1], attacked])
        self.examples = (clean, attacked)

    def _gathered(self) -> dict[str, Tensor]:
        local = {f: torch.cat(v) for f, v in self._parts.items() if v}
        if not local:
            raise RuntimeError("AttackEvaluation saw no query batch")
        out = {}
        for name, value in local.items():
            if self.trainer.world_size > 1:
                value = cast(Tensor, self.all_gather(value))
            out[name] = value.reshape(-1, *local[name].shape[1:]).cpu()
        order = torch.argsort(out["idx"], stable=True)
        out = {name: value[order] for name, value in out.items()}
        keep = torch.ones_like(out["idx"], dtype=torch.bool)
        keep[1:] = out["idx"][1:] != out["idx"][:-1]
        return {name: value[keep] for name, value in out.items()}

    def on_test_epoch_end(self) -> None:
        """Gather, de-duplicate by index, score and log."""
        g = self._gathered()
        self.report = self.compute_report(g)
        if "images" in g:
            self.adversarial = (g["idx"], g["images"])
        seconds = torch.tensor([self._seconds], device=self.device)
        if self.trainer.world_size > 1:
            seconds = cast(Tensor, self.all_gather(seconds)).max()
        self.report["seconds"] = float(seconds.max())
        scalars = {k: float(v) for k, v in self.report.items() if isinstance(v, (int, float))}
        self.log_dict(scalars, rank_zero_only=True)

    def compute_report(self, g: dict[str, Tensor]) -> dict[str, Any]:
        """The report dict from gathered per-query tensors (see the module docstring).

        ``p_at_n`` holds the P@N curve: ``n``; ``relevance`` (``"labels"``, or ``"targets"``
        for a targeted attack); ``clean`` and ``adv``, the clean and adversarial queries'
        P@N under that relevance; and, for a targeted attack only, ``clean_true`` and
        ``adv_true``, the same against the queries' true labels (protocol §5).
        ``per_query`` holds the leaderboard figure per query, in query order: ``idx`` (query
        dataset indices) and ``ap`` (AP@k of the adversarial query against its true labels,
        or against its targets for a targeted attack; 0 where no relevant item is in the top
        k, so their mean is ``adv_map`` / ``adv_tmap``). ``threat`` is the L∞ budget.
        """
        db, dbl, k = self.db_codes, self.db_labels, self.top_k
        targeted = self.attack.targeted

        per_query: dict[str, Tensor] = {}

        def scores(codes: Tensor, labels: Tensor, prefix: str) -> dict[str, float]:
            ap = average_precision_per_query(codes, db, labels, dbl, k)  # ranked once at k
            per_query[prefix] = ap
            return {
                prefix: map_from_ap(ap),
                f"{prefix}_hits": map_from_ap(ap, hit_only=True),
                f"{prefix}_full": mean_average_precision(codes, db, labels, dbl),
                f"{prefix}_se": map_standard_error(ap),  # over queries
            }

        rep: dict[str, Any] = {"attack": self.attack.name, "mode": self.attack.mode}
        rep.update(bounded=bool(self.attack.bounded), eps=float(self.attack.eps))
        rep["threat"] = {"norm": NORM, "eps": float(self.attack.eps)}
        rep.update(top_k=k, asr_n=self.asr_n, n_queries=len(g["idx"]))
        rep["unlabelled_queries"] = int((g["labels"].sum(1) == 0).sum())  # protocol §1: count
        rep.update(scores(g["clean"], g["labels"], "clean_map"))
        rep.update(scores(g["adv"], g["labels"], "adv_map"))
        gold = g["targets"] if targeted else g["labels"]
        if targeted:
            rep.update(scores(g["clean"], gold, "clean_tmap"))
            rep.update(scores(g["adv"], gold, "adv_tmap"))
        figure_ap = torch.nan_to_num(per_query["adv_tmap" if targeted else "adv_map"], nan=0.0)
        rep["per_query"] = {"idx": g["idx"].tolist(), "ap": figure_ap.tolist()}
        # P@N (§5): "clean"/"adv" under the attack's relevance (rel, or rel_t when targeted);
        # a targeted attack also gets the usual P@N against the true labels ("*_true")
        ns = self.p_at_n
        rep["p_at_n"] = {
            "n": ns,
            "relevance": "targets" if targeted else "labels",
            "clean": precision_at_n(g["clean"], db, gold, dbl, ns).tolist(),
            "adv": precision_at_n(g["adv"], db, gold, dbl, ns).tolist(),
        }
        if targeted:
            for codes in ("clean", "adv"):
                true = precision_at_n(g[codes], db, g["labels"], dbl, ns)
                rep["p_at_n"][f"{codes}_true"] = true.tolist()
        asr = targeted_asr if targeted else untargeted_asr
        rep["asr"] = asr(g["adv"], db, gold, dbl, self.asr_n)
        rep["clean_asr"] = asr(g["clean"], db, gold, dbl, self.asr_n)
        rep["bit_flip"] = bit_flip_rate(g["adv"], g["clean"])
        rep.update({f: float(g[f].mean()) for f in ("linf", "l2", "mse")})
        rep["rmse"] = float(g["mse"].mean().sqrt())
        has_theory = type(self.attack).theory_codes is not HashAttack.theory_codes
        rep["theory"] = rep["theory_hits"] = rep["theory_full"] = None
        if has_theory:
            rep.update(scores(sign(g["theory"]), gold, "theory"))
        rep["prepare_seconds"] = self._prepare_seconds
        return rep
