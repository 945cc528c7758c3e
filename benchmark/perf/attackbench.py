"""The attack workloads: a reference-recipe PGD/HAG loop against our production attacks.

Random-weight in-repo backbones (``robust_hashing.models``), random images, a random
training sign bank; sizes: AlexNet-32 at 224 px, batch 128, 100 iterations (``--full``) or
AlexNet-32 at 64 px, batch 8, 5 iterations (CPU default).

* baseline (reference recipe): fp32, model weights requiring grad, ``loss.backward()`` at
  every iteration (filling and zeroing the weights' ``.grad``), the same loss, guide, random
  start and projection as the production attack;
* ours: the production attack object called as ``AttackEvaluation`` calls it (model in eval
  mode with ``requires_grad_(False)``);
* candidate (CUDA only, not the production path, reported apart): ours under bf16 autocast
  with channels_last model and images.

``max_abs_diff`` is the largest pixel difference between the baseline's and our
adversarial images (the same attack: 0 up to floating-point noise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import common
import torch
from torch import Tensor

from robust_hashing.attacks import AttackContext
from robust_hashing.attacks.hag import HAG
from robust_hashing.attacks.mainstay import Mainstay
from robust_hashing.models import HashNet, create_hash_net

FULL = {"backbone": "alexnet", "bits": 32, "image": 224, "batch": 128, "steps": 100}
CPU = {"backbone": "alexnet", "bits": 32, "image": 64, "batch": 8, "steps": 5}


def setting(
    size: dict[str, Any], device: torch.device, classes: int = 21, bank: int = 2000
) -> tuple[HashNet, AttackContext, Tensor, Tensor]:
    """Random-weight model (eval), context, images in [0, 1] and labels, seed 0."""
    torch.manual_seed(0)
    model = create_hash_net(size["backbone"], bits=size["bits"]).to(device).eval()
    g = torch.Generator().manual_seed(0)

    def labels(n: int) -> Tensor:
        y = (torch.rand(n, classes, generator=g) < 0.15).float()
        y[torch.arange(n), torch.randint(0, classes, (n,), generator=g)] = 1.0
        return y

    codes = torch.randint(0, 2, (bank, size["bits"]), generator=g).float() * 2 - 1
    ctx = AttackContext(codes, labels(bank), codes, labels(bank), classes, size["bits"])
    x = torch.rand(size["batch"], 3, size["image"], size["image"], generator=g).to(device)
    return model, ctx, x, labels(size["batch"]).to(device)


def reference_pgd(attack: Mainstay, x: Tensor, y: Tensor) -> Tensor:
    """Mainstay sign-PGD the reference way: weights requiring grad, ``loss.backward()``."""
    model = attack.model.requires_grad_(True)
    guide = attack.guide(x, y, None).to(x)
    gen = torch.Generator().manual_seed(attack.seed)
    delta = (torch.rand(x.shape, generator=gen).to(x) * 2 - 1) * attack.eps
    delta = (x + delta).clamp(0, 1) - x
    for t in range(attack.steps):
        delta.requires_grad_(True)
        loss = attack.loss(model(x + delta, attack.alpha(t, attack.steps))[1], guide)
        loss.backward()
        with torch.no_grad():
            delta = (delta - attack.step * delta.grad.sign()).clamp(-attack.eps, attack.eps)
            delta = (x + delta).clamp(0, 1) - x
        model.zero_grad()
    return (x + delta).detach().clamp(0, 1)


def reference_hag(attack: HAG, x: Tensor, y: Tensor) -> Tensor:
    """HAG the reference way: weights requiring grad, ``loss.backward()``, SGD on the image."""
    model = attack.model.requires_grad_(True)
    with torch.no_grad():
        clean = model(x)[1]
    adv = x.clone().requires_grad_(True)
    opt = torch.optim.SGD([adv], lr=attack.lr, momentum=attack.momentum)
    for t in range(attack.steps):
        opt.zero_grad()
        attack.loss(model(adv, attack.alpha(t, attack.steps))[1], clean).backward()
        opt.step()
        with torch.no_grad():
            adv.copy_(torch.min(torch.max(adv, x - attack.eps), x + attack.eps)).clamp_(0, 1)
        model.zero_grad()
    return adv.detach()


def production(attack: Any, x: Tensor, y: Tensor) -> Tensor:
    """Our path, as ``AttackEvaluation`` runs it (a fresh attack: random start re-seeded)."""
    attack.generator = torch.Generator().manual_seed(attack.seed)
    attack.model.eval().requires_grad_(False)
    return attack(x, y)


def candidate(attack: Any, x: Tensor, y: Tensor) -> Tensor:
    """bf16 autocast + channels_last on CUDA (a candidate fast path, not in production)."""
    attack.generator = torch.Generator().manual_seed(attack.seed)
    attack.model.eval().requires_grad_(False).to(memory_format=torch.channels_last)
    try:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return attack(x.contiguous(memory_format=torch.channels_last), y)
    finally:
        attack.model.to(memory_format=torch.contiguous_format)


def run(name: str, make: Callable[..., Any], reference: Callable[..., Tensor], doc: str) -> None:
    """Parse the options, time reference recipe and production attack, write the record."""
    args = common.parser(doc).parse_args()
    device = common.setup(args)
    size = FULL if args.full else CPU
    print(f"{name}: {size} on {common.device_name(device)}", flush=True)
    model, ctx, x, y = setting(size, device)
    attack = make(model, ctx, steps=size["steps"])
    fns: dict[str, Callable[[], Tensor]] = {
        "baseline": lambda: reference(attack, x, y),
        "ours": lambda: production(attack, x, y),
    }
    if device.type == "cuda":
        fns["candidate"] = lambda: candidate(attack, x, y)
    best, out = common.interleaved(fns, args.rounds, device)
    work = size["batch"] * size["steps"]
    extra: dict[str, Any] = {
        "figure": "adversarial images (max pixel difference)",
        "sizes": size,
        "throughput_baseline": round(work / best["baseline"], 1),
        "throughput_ours": round(work / best["ours"], 1),
        "throughput_unit": "image·iterations/s",
    }
    if "candidate" in best:
        extra["candidate_bf16_channels_last"] = {
            "seconds": round(best["candidate"], 4),
            "ratio": round(best["baseline"] / best["candidate"], 2),
            "max_abs_diff_vs_ours": float((out["candidate"] - out["ours"]).abs().max()),
        }
    common.record(
        args,
        device,
        name,
        batch=size["batch"],
        baseline=best["baseline"],
        ours=best["ours"],
        max_abs_diff=float((out["baseline"] - out["ours"]).abs().max()),
        **extra,
    )


def mainstay(model: HashNet, ctx: AttackContext, steps: int) -> Mainstay:
    """Production Mainstay-PGD (untargeted, 8/255, step 1/255, random start)."""
    return Mainstay(model, ctx, steps=steps)


def hag(model: HashNet, ctx: AttackContext, steps: int) -> HAG:
    """Production HAG (untargeted, 8/255, SGD lr 100, momentum 0.9)."""
    return HAG(model, ctx, steps=steps)
