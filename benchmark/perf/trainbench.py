"""The training workloads: one CgAT / SAAT min-max step, reference recipe against ours.

Random-weight VGG-11 (32 bits) and a random training sign bank; sizes: 224 px, batch 32,
inner PGD-7 (``--full``) or 32 px, batch 4, PGD-2 (CPU default). One step = the inner
maximisation (PGD with ε = 8/255, step 2/255, BatchNorm in eval mode) towards the guide
codes (CgAT: center codes; SAAT: mainstay codes), then the outer loss (a pairwise
likelihood hashing term on the batch, plus the method's adversarial term) and an SGD step.

* baseline (reference recipe): fp32, ``loss.backward()`` at every inner iteration (filling
  the weights' ``.grad``, zeroed before the outer step);
* ours: the production PGD engine (:func:`robust_hashing.attacks.pgd.pgd`, the one
  ``DefenseTask.inner_pgd`` runs: gradients for δ only) and the same outer step.

Both start every round from the same weights and random start; ``max_abs_diff`` is the
difference of the outer loss values.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import common
import torch
from torch import Tensor, nn

from robust_hashing.attacks.pgd import pgd
from robust_hashing.codes import center_codes, mainstay_codes
from robust_hashing.models import create_hash_net

FULL = {"backbone": "vgg11", "bits": 32, "image": 224, "batch": 32, "steps": 7}
CPU = {"backbone": "vgg11", "bits": 32, "image": 32, "batch": 4, "steps": 2}
EPS, STEP, LAM, MU = 8 / 255, 2 / 255, 1.0, 0.1


def pairwise_loss(u: Tensor, y: Tensor) -> Tensor:
    """Pairwise likelihood on the batch: mean log(1 + e^θ) − sθ, θ = uᵀu′/2."""
    theta = u @ u.t() / 2
    s = (y @ y.t() > 0).float()
    return (nn.functional.softplus(theta) - s * theta).mean()


def outer_loss(
    method: str, model: nn.Module, x: Tensor, xa: Tensor, y: Tensor, c: Tensor
) -> Tensor:
    """Hashing term on clean images plus the method's adversarial term."""
    u = model(x)[1]
    ua = model(xa)[1]
    loss = pairwise_loss(u, y) - LAM * (ua * c).mean()
    if method == "saat":
        loss = loss + MU * ((ua - torch.sign(ua.detach())) ** 2).mean()
    return loss


def bn_eval(model: nn.Module) -> list[nn.Module]:
    """Put BatchNorm layers in eval mode (as ``DefenseTask.attack_mode``); return them."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.eval()
    return norms


def reference_step(
    method: str, model: nn.Module, opt: Any, x: Tensor, y: Tensor, c: Tensor
) -> Tensor:
    """The reference recipe: ``loss.backward()`` in the inner loop, weights requiring grad."""
    norms = bn_eval(model)
    gen = torch.Generator().manual_seed(0)
    delta = (torch.rand(x.shape, generator=gen).to(x) * 2 - 1) * EPS
    delta = (x + delta).clamp(0, 1) - x
    for _ in range(CURRENT["steps"]):
        delta.requires_grad_(True)
        (model(x + delta)[1] * c).mean().backward()
        with torch.no_grad():
            delta = (delta - STEP * delta.grad.sign()).clamp(-EPS, EPS)
            delta = (x + delta).clamp(0, 1) - x
    for m in norms:
        m.train()
    opt.zero_grad()
    loss = outer_loss(method, model, x, (x + delta).detach(), y, c)
    loss.backward()
    opt.step()
    return loss.detach()


def production_step(
    method: str, model: nn.Module, opt: Any, x: Tensor, y: Tensor, c: Tensor
) -> Tensor:
    """Ours: the production PGD engine, then the same outer step."""
    norms = bn_eval(model)
    gen = torch.Generator().manual_seed(0)
    xa = pgd(x, lambda xa, _t: (model(xa)[1] * c).mean(), eps=EPS, step=STEP,
             steps=CURRENT["steps"], generator=gen)  # fmt: skip
    for m in norms:
        m.train()
    opt.zero_grad()
    loss = outer_loss(method, model, x, xa, y, c)
    loss.backward()
    opt.step()
    return loss.detach()


CURRENT: dict[str, Any] = {}


def run(method: str, doc: str) -> None:
    """Parse the options, time both steps from the same weights, write the record."""
    args = common.parser(doc, rounds=3).parse_args()
    device = common.setup(args)
    size = FULL if args.full else CPU
    CURRENT.update(size)
    name = f"train_{method}"
    print(f"{name}: {size} on {common.device_name(device)}", flush=True)
    torch.manual_seed(0)
    model = create_hash_net(size["backbone"], bits=size["bits"]).to(device).train()
    start = copy.deepcopy(model.state_dict())
    g = torch.Generator().manual_seed(0)
    classes, n = 21, size["batch"]
    y = (torch.rand(n, classes, generator=g) < 0.15).float()
    y[torch.arange(n), torch.randint(0, classes, (n,), generator=g)] = 1.0
    bank_y = (torch.rand(2000, classes, generator=g) < 0.15).float()
    bank_b = torch.randint(0, 2, (2000, size["bits"]), generator=g).float() * 2 - 1
    guide = center_codes if method == "cgat" else mainstay_codes
    c = guide(y, bank_b, bank_y).to(device)
    x = torch.rand(n, 3, size["image"], size["image"], generator=g).to(device)
    y = y.to(device)

    def timed(step: Callable[..., Tensor]) -> Callable[[], Tensor]:
        def go() -> Tensor:
            model.load_state_dict(start)
            torch.manual_seed(0)  # the same dropout masks on both sides
            opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
            return step(method, model, opt, x, y, c)

        return go

    best, out = common.interleaved(
        {"baseline": timed(reference_step), "ours": timed(production_step)}, args.rounds, device
    )
    common.record(
        args,
        device,
        name,
        batch=n,
        baseline=best["baseline"],
        ours=best["ours"],
        max_abs_diff=float((out["baseline"] - out["ours"]).abs()),
        figure="outer loss of the step",
        sizes=size,
        throughput_baseline=round(n / best["baseline"], 2),
        throughput_ours=round(n / best["ours"], 2),
        throughput_unit="images/s",
    )
