"""Runner hooks."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the Python, numpy and torch (CPU) random states in every
    checkpoint and restore them on resume.

    mmengine re-seeds a resumed run from the config's seed, so random data
    augmentation after a resume differs from the uninterrupted run. With
    this hook (and ``randomness=dict(seed=..., deterministic=True)``) an
    interrupted CPU training resumed with ``--resume`` ends with the same
    weights as one that never stopped.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = dict(
            python=random.getstate(), numpy=np.random.get_state(),
            torch=torch.get_rng_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if not state or not runner._resume:
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
