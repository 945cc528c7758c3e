"""Lightning tasks: clean hash training, encoding through ``trainer.predict``, checkpoint I/O."""

from robust_hashing.tasks.checkpoint import CheckpointError, load_hash_net
from robust_hashing.tasks.encode import encode, encode_direct
from robust_hashing.tasks.hashing import HashingTask

__all__ = ["CheckpointError", "HashingTask", "encode", "encode_direct", "load_hash_net"]
