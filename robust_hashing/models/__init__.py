"""Hash networks: an in-repo backbone, a K-bit linear layer and tanh(α·z).

Use :func:`create_hash_net` to build one by backbone name; :data:`BACKBONES` lists the
registered backbones (``list_backbones()``).
"""

from robust_hashing.models.backbones import BACKBONES, get_backbone, list_backbones
from robust_hashing.models.hashnet import HashNet, create_hash_net

__all__ = ["BACKBONES", "HashNet", "create_hash_net", "get_backbone", "list_backbones"]
