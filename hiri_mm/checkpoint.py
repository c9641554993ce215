"""Safe loading of mmengine Runner checkpoints under ``torch.load``'s
``weights_only=True`` default (torch >= 2.6).

A Runner checkpoint stores its message hub, whose HistoryBuffer objects hold
numpy arrays. Unpickling those needs exactly these globals; they only
rebuild arrays and buffers, so allowing them keeps the restricted unpickler
(no arbitrary code) in force.
"""
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

SAFE_GLOBALS = (
    HistoryBuffer,
    np.ndarray,
    np.dtype,
    np.core.multiarray._reconstruct,
    np.core.multiarray.scalar,
    *(type(np.dtype(t)) for t in (np.float64, np.float32, np.int64,
                                  np.int32, np.bool_)),
)


def allow_runner_checkpoints() -> None:
    """Add :data:`SAFE_GLOBALS` to torch's weights-only allow-list."""
    torch.serialization.add_safe_globals(list(SAFE_GLOBALS))
