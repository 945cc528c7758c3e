"""Hash networks: an in-repo backbone, a K-bit linear layer and tanh(α·z).

Use :func:`create_hash_net` to build one by backbone name; :data:`BACKBONES` lists the
registered backbones (``list_backbones()``). A backbone is one module registering its
factory with ``@BACKBONES.register("name")``, plus one line in the import block below.
"""

# The built-in backbones: importing a module registers them (one line each, sorted).
from robust_hashing.models import (  # noqa: F401
    alexnet,
    backbones,
    resnet,
    vgg,
)
from robust_hashing.models.backbones import BACKBONES, get_backbone, list_backbones
from robust_hashing.models.hashnet import HashNet, create_hash_net

__all__ = ["BACKBONES", "HashNet", "create_hash_net", "get_backbone", "list_backbones"]
