"""Clean hashing losses L_hash (algorithms §2): ``dph``, ``dpsh``, ``dpsh_saat``, ``hashnet``, ``csq``.

Build one with :func:`get_loss`; :data:`LOSSES` is the registry (``list_losses()``). A loss
is one module registering its class with ``@LOSSES.register("name")``, plus one line in the
import block below.
"""

# The built-in losses: importing a module registers its losses (one line each, sorted).
from robust_hashing.losses import (  # noqa: F401
    csq,
    dph,
    dpsh,
    hashnet,
)
from robust_hashing.losses.base import LOSSES, HashLoss, get_loss, list_losses, pairwise_likelihood
from robust_hashing.losses.csq import CSQLoss, hadamard, hash_centers
from robust_hashing.losses.dph import DPHLoss
from robust_hashing.losses.dpsh import DPSHLoss, DPSHSAATLoss
from robust_hashing.losses.hashnet import HashNetLoss

__all__ = [
    "LOSSES",
    "CSQLoss",
    "DPHLoss",
    "DPSHLoss",
    "DPSHSAATLoss",
    "HashLoss",
    "HashNetLoss",
    "get_loss",
    "hadamard",
    "hash_centers",
    "list_losses",
    "pairwise_likelihood",
]
