"""PrototypeNet: the label → code network of THA and ATRDH (algorithms §5.5).

A PrototypeNet maps a multi-hot (target) label vector to a relaxed K-bit code
p ∈ (−1, 1)^K; its sign sgn p is the prototype code an attack steers towards. It is
trained against the *frozen* attacked model's training sign bank with a circle loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robust_hashing.ops import sign


class PrototypeNet(nn.Module):
    """y → Linear(C, 4096) → ReLU → Linear(4096, 512) → Linear(512, K) → tanh.

    Args:
        num_classes: label dimension C.
        bits: code length K.
    """

    def __init__(self, num_classes: int, bits: int) -> None:
        super().__init__()
        if num_classes <= 0 or bits <= 0:
            raise ValueError(f"num_classes and bits must be positive, got {num_classes}, {bits}")
        self.num_classes = num_classes
        self.bits = bits
        self.net = nn.Sequential(
            nn.Linear(num_classes, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 512),
            nn.Linear(512, bits),
        )

    def forward(self, labels: Tensor) -> Tensor:
        """Relaxed prototype codes tanh(·) of shape m×K for m×C ``labels``."""
        return torch.tanh(self.net(labels.float()))


def prototype_loss(
    p: Tensor,
    labels: Tensor,
    bank_codes: Tensor,
    bank_labels: Tensor,
    *,
    triu: bool = False,
) -> Tensor:
    """THA circle loss of prototypes ``p`` against a training sign bank (algorithms §5.5).

    s_ij = p_iᵀb_j/K; (i, j) is positive when the labels overlap, negative otherwise.
    With a_p = [2 − s_p]₊ and a_n = [s_n + 2]₊ (treated as constants, as in circle loss),
    L = softplus(logsumexp(a_n s_n) + logsumexp(−a_p s_p))/m + ‖sgn p − p‖²/(10⁴ m),
    where both logsumexps run over all pairs of the batch.

    Args:
        p: m×K relaxed prototypes.
        labels: m×C labels that produced ``p``.
        bank_codes: N×K ±1 codes of the attacked model's training set.
        bank_labels: N×C training labels.
        triu: keep only pairs with j > i, as the official code does (``faithful_triu``).

    Returns:
        Scalar loss.
    """
    m, k = p.shape
    s = p @ bank_codes.to(p).t() / k
    pos = labels.float().to(p) @ bank_labels.float().to(p).t() > 0
    keep = torch.ones_like(pos)
    if triu:
        keep = torch.triu(keep, diagonal=1)
    a_p = (2.0 - s.detach()).clamp_min(0)
    a_n = (s.detach() + 2.0).clamp_min(0)
    neg_inf = torch.full_like(s, float("-inf"))
    logit_n = torch.where(~pos & keep, a_n * s, neg_inf).flatten()
    logit_p = torch.where(pos & keep, -a_p * s, neg_inf).flatten()
    # An empty side gives logsumexp = -inf and hence zero loss; guard against NaNs there.
    lse_n = torch.logsumexp(logit_n, 0) if bool((~pos & keep).any()) else s.new_tensor(-1e4)
    lse_p = torch.logsumexp(logit_p, 0) if bool((pos & keep).any()) else s.new_tensor(-1e4)
    circle = F.softplus(lse_n + lse_p)
    quant = (sign(p.detach()) - p).pow(2).sum()
    return circle / m + quant / (1e4 * m)


def train_prototype_net(
    bank_codes: Tensor,
    bank_labels: Tensor,
    target_pool: Tensor,
    *,
    epochs: int,
    steps_per_epoch: int,
    batch_size: int = 32,
    lr: float = 1e-4,
    seed: int = 0,
    triu: bool = False,
) -> PrototypeNet:
    """Train a :class:`PrototypeNet` against a frozen model's training sign bank.

    Each step draws ``batch_size`` label vectors uniformly from ``target_pool`` (the
    unique database labels) and takes an Adam step (betas (0.5, 0.999)) on
    :func:`prototype_loss`; the learning rate drops ×0.1 at 50% and 75% of the epochs.
    Runs on the device of ``bank_codes``; seeded and reproducible.

    Args:
        bank_codes: N×K ±1 training codes of the attacked model (eval mode).
        bank_labels: N×C training labels.
        target_pool: P×C candidate target labels.
        epochs: number of epochs (100 in the spec).
        steps_per_epoch: steps per epoch (300 in the spec).
        batch_size: label batch size.
        lr: Adam learning rate.
        seed: seed of the initialisation and of the label draws.
        triu: the ``faithful_triu`` flag of :func:`prototype_loss`.

    Returns:
        The trained network, in eval mode, on the device of ``bank_codes``.
    """
    if len(target_pool) == 0:
        raise ValueError("target_pool is empty")
    device = bank_codes.device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = PrototypeNet(bank_labels.shape[1], bank_codes.shape[1])
    net = net.to(device).train()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999))
    milestones = sorted({max(1, epochs // 2), max(1, (3 * epochs) // 4)})
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    codes, labels, pool = bank_codes.float(), bank_labels.float(), target_pool.float().to(device)
    with torch.enable_grad():
        for _ in range(epochs):
            for _ in range(steps_per_epoch):
                pick = torch.randint(len(pool), (batch_size,), generator=gen).to(device)
                y = pool[pick]
                loss = prototype_loss(net(y), y, codes, labels, triu=triu)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            sched.step()
    return net.eval()
