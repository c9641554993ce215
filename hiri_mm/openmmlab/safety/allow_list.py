"""The weights-only allow-list for mmengine Runner checkpoints.

torch >= 2.6 unpickles with ``weights_only=True``, which refuses the objects
a Runner checkpoint holds besides tensors: its message hub's HistoryBuffer,
the numpy globals that rebuild its arrays and scalars, and
``getattr(HistoryBuffer, name)`` for the statistics methods the buffer
pickles. :data:`SAFE_GLOBALS` allows exactly those. ``getattr`` is replaced
by :func:`history_buffer_getattr`, which serves only that lookup, and
HistoryBuffer by :class:`LoadedHistoryBuffer`, which restores a buffer
without touching ``HistoryBuffer._statistics_methods`` (a dict shared by the
whole class that mmengine's own ``__setstate__`` updates from the file).
"""
import pickle
from typing import Callable

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

__all__ = ['SAFE_GLOBALS', 'LoadedHistoryBuffer', 'history_buffer_getattr',
           'allow_runner_checkpoints']

# The statistics every HistoryBuffer registers on creation (min, max, ...).
HISTORY_BUFFER_STATISTICS = frozenset(HistoryBuffer()._statistics_methods)


class LoadedHistoryBuffer(HistoryBuffer):
    """Stands for HistoryBuffer while a checkpoint is unpickled.

    mmengine's ``HistoryBuffer.__setstate__`` copies the pickled statistics
    methods into ``HistoryBuffer._statistics_methods``, a dict shared by
    every buffer of the process: a checkpoint could rebind ``'mean'`` for all
    later buffers. This ``__setstate__`` drops the pickled methods (a buffer
    uses the class's registered ones) and turns the object into a plain
    HistoryBuffer, so the loaded message hub is what mmengine expects and no
    class-level state changes.
    """

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        state.pop('statistics_methods', None)
        self.__class__ = HistoryBuffer
        self.__dict__.update(state)


def history_buffer_getattr(obj: object, name: str) -> Callable:
    """``getattr`` limited to HistoryBuffer's default statistics methods."""
    if obj not in (HistoryBuffer, LoadedHistoryBuffer) or \
            name not in HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'Refusing getattr({obj!r}, {name!r}) while loading a checkpoint: '
            'only HistoryBuffer statistics may be looked up')
    return getattr(HistoryBuffer, name)


SAFE_GLOBALS = [
    (LoadedHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    np.ndarray,
    np.dtype,
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
    *(type(np.dtype(t)) for t in (np.float64, np.float32, np.float16,
                                  np.int64, np.int32, np.uint32, np.uint8,
                                  np.bool_)),
    (history_buffer_getattr, 'builtins.getattr'),
]


def allow_runner_checkpoints() -> None:
    """Add :data:`SAFE_GLOBALS` to torch's weights-only allow-list."""
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
