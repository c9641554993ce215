"""Checkpoint files for scripts outside a Runner: load safely, save
atomically, take the weights under a prefix, and check weights against the
model they are meant for."""
import io
import math
from typing import Dict, List, Mapping, Optional, Union

import torch
import torch.nn as nn

from ..errors import CheckpointError, CheckpointMismatchError
from ..fileutils import atomic_write
from .safety import load_checkpoint

__all__ = ['load_checkpoint', 'load_weights_file', 'save_checkpoint',
           'state_dict_of', 'weights_under_prefix', 'weight_problems',
           'check_weights']

# How many keys of each kind a mismatch message names.
SHOWN_KEYS = 5


def save_checkpoint(checkpoint: dict, path: str) -> None:
    """``torch.save(checkpoint)`` to ``path`` through
    :func:`~hiri_mm.fileutils.atomic_write`: the file is complete or
    absent, a full disk is reported with the space needed."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write(path, buffer.getvalue())


def state_dict_of(checkpoint: Mapping, source: str) -> Mapping:
    """The weights of a loaded checkpoint: its ``state_dict`` entry, or the
    checkpoint itself when it is a bare state dict of tensors."""
    if 'state_dict' in checkpoint:
        return checkpoint['state_dict']
    if all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint
    raise CheckpointError(
        f'{source} has no state_dict (keys: {sorted(checkpoint)[:8]}): it '
        'is not a model checkpoint.')


def weights_under_prefix(state_dict: Mapping[str, torch.Tensor],
                         prefix: str) -> Dict[str, torch.Tensor]:
    """The entries whose key starts with ``prefix``, prefix removed."""
    return {k[len(prefix):]: v for k, v in state_dict.items()
            if k.startswith(prefix)}


def _non_finite(state_dict: Mapping[str, torch.Tensor]) -> List[str]:
    return [k for k, v in state_dict.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point()
            and not torch.isfinite(v).all()]


def weight_problems(model: nn.Module, state_dict: Mapping[str, torch.Tensor]
                    ) -> Dict[str, List[str]]:
    """What keeps ``state_dict`` from being ``model``'s weights, by kind:
    ``missing`` (model keys without a weight), ``unexpected`` (weights the
    model lacks), ``mis-shaped`` (``'key: (3, 4) in the file, (4, 4) in the
    model'``) and ``non-finite`` (NaN or Inf values). Empty lists when it
    loads strictly."""
    expected = model.state_dict()
    return {
        'missing': [k for k in expected if k not in state_dict],
        'unexpected': [k for k in state_dict if k not in expected],
        'mis-shaped': [
            f'{k}: {tuple(v.shape)} in the file, '
            f'{tuple(expected[k].shape)} in the model'
            for k, v in state_dict.items() if k in expected
            and isinstance(v, torch.Tensor) and v.shape != expected[k].shape],
        'non-finite': _non_finite(state_dict),
    }


def check_weights(model: nn.Module, state_dict: Mapping[str, torch.Tensor],
                  source: str, allow_partial: bool = False
                  ) -> Dict[str, List[str]]:
    """Raise :class:`~hiri_mm.errors.CheckpointMismatchError` unless
    ``state_dict`` (from ``source``) holds exactly ``model``'s weights, with
    finite values; return :func:`weight_problems`.

    Args:
        model (nn.Module): The model the weights are for.
        state_dict (Mapping): The weights.
        source (str): The checkpoint, for the message.
        allow_partial (bool): Accept missing, unexpected and mis-shaped
            keys (they are returned, for a warning); non-finite values are
            refused all the same.
    """
    problems = weight_problems(model, state_dict)
    refused = ('non-finite', ) if allow_partial else tuple(problems)
    found = {kind: keys for kind, keys in problems.items()
             if keys and kind in refused}
    if found:
        lines = [f'  {kind} ({len(keys)}): {", ".join(keys[:SHOWN_KEYS])}'
                 + (' ...' if len(keys) > SHOWN_KEYS else '')
                 for kind, keys in found.items()]
        matched = len(state_dict) - len(problems['unexpected'])
        share = matched / max(len(model.state_dict()), 1)
        raise CheckpointMismatchError(
            f'{source} does not hold the weights of this '
            f'{type(model).__name__} ({math.floor(share * 100)}% of its '
            'keys found):\n' + '\n'.join(lines) + '\nCheck that the config '
            'is the one the checkpoint was trained with'
            + ('' if allow_partial else
               ', or pass --allow-partial-checkpoint to load what fits')
            + '.')
    return problems


def load_weights_file(source: str,
                      map_location: Optional[Union[str, torch.device]] = 'cpu'
                      ) -> Mapping[str, torch.Tensor]:
    """:func:`state_dict_of` the checkpoint at ``source`` (any scheme)."""
    return state_dict_of(load_checkpoint(source, map_location), source)
