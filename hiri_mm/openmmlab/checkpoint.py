"""Safe loading of mmengine Runner checkpoints under ``torch.load``'s
``weights_only=True`` default (torch >= 2.6).

A Runner checkpoint stores its message hub. Unpickling it needs
HistoryBuffer, the numpy globals that rebuild its arrays and scalars, and
``getattr(HistoryBuffer, name)`` for the statistics methods the buffer keeps
in a dict. Those are allowed here and nothing else: ``getattr`` is replaced
by :func:`history_buffer_getattr`, which serves only that lookup, so the
restricted unpickler stays in force and a pickle that tries to reach any
other attribute is refused.
"""
import os.path as osp
import pickle
import zipfile
from typing import Callable, Optional, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader


# The statistics every HistoryBuffer registers on creation (min, max, ...).
HISTORY_BUFFER_STATISTICS = frozenset(HistoryBuffer()._statistics_methods)


def history_buffer_getattr(obj: object, name: str) -> Callable:
    """``getattr`` limited to HistoryBuffer's default statistics methods."""
    if obj is not HistoryBuffer or name not in HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'Refusing getattr({obj!r}, {name!r}) while loading a checkpoint: '
            'only HistoryBuffer statistics may be looked up')
    return getattr(obj, name)


SAFE_GLOBALS = [
    HistoryBuffer,
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


def load_checkpoint_file(filename: str,
                         map_location: Optional[Union[str, Callable]] = None
                         ) -> dict:
    """``torch.load`` with ``weights_only=True`` and errors that name the
    file: missing, refused (unsafe objects) or truncated/corrupt."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f'Refusing to load {filename}: it holds objects outside the '
            f'allow-list of safe types (weights_only=True). {e}') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as e:
        raise RuntimeError(
            f'Checkpoint {filename} is truncated or corrupt and cannot be '
            f'read ({type(e).__name__}: {e})') from None


def use_safe_local_loader() -> None:
    """Make mmengine load local checkpoints through
    :func:`load_checkpoint_file`: ``Pretrained`` init, ``load_from``,
    ``--resume``, ``init_detector`` and ``init_model`` all go through it."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)
