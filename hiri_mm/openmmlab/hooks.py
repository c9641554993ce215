"""Runner hooks: lossless resume (:class:`RNGStateHook`) and crash-safe
checkpoints (:class:`AtomicCheckpointHook`, which writes through the file
backend :class:`AtomicLocalBackend`)."""
import os.path as osp
import random
from pathlib import Path
from typing import Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend, register_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

from ..fileutils import atomic_write, remove_stale_partials

__all__ = ['RNGStateHook', 'AtomicLocalBackend', 'ATOMIC_BACKEND',
           'AtomicCheckpointHook']

# The name of AtomicLocalBackend in mmengine's backend registry.
ATOMIC_BACKEND = 'hiri_atomic_local'


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's :class:`~mmengine.fileio.LocalBackend` whose ``put`` and
    ``put_text`` write through :func:`~hiri_mm.fileutils.atomic_write`
    (temporary file, fsync, rename): a file is complete or absent.

    Select it with ``backend_args=dict(backend='hiri_atomic_local')``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` (bytes) to ``filepath`` atomically."""
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write ``obj`` (text) to ``filepath`` atomically."""
        atomic_write(filepath, obj, encoding)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the Python, numpy and torch (CPU) random states in every
    checkpoint and restore them on resume.

    mmengine re-seeds a resumed run from the config's seed, so random data
    augmentation after a resume differs from the uninterrupted run. With
    this hook (and ``randomness=dict(seed=..., deterministic=True)``) an
    interrupted CPU training resumed with ``--resume`` ends with the same
    weights as one that never stopped. Whether the run resumes (rather than
    loading weights only) is read from the Runner's private ``_resume``
    (mmengine 0.10.7 has no public accessor).
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


class _DeferredRemoval:
    """A file backend whose ``remove`` / ``rmtree`` calls are queued until
    :meth:`commit`; every other attribute is the wrapped backend's."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self._pending: List[Tuple[Callable, str]] = []

    def __getattr__(self, name: str):
        return getattr(self._backend, name)

    def remove(self, path: str) -> None:
        self._pending.append((self._backend.remove, path))

    def rmtree(self, path: str) -> None:
        self._pending.append((self._backend.rmtree, path))

    def commit(self) -> None:
        for remove, path in self._pending:
            remove(path)
        self._pending.clear()


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook` (same arguments)
    whose checkpoints survive a crash at any moment.

    mmengine's hook deletes the oldest kept checkpoint before it writes the
    new one, and writes files in place: a process killed while saving can
    leave only a truncated file, and ``last_checkpoint`` may name it. Here,
    on a local ``out_dir``:

    - every checkpoint (regular and best) and ``last_checkpoint`` are written
      to a temporary file in the same folder, flushed, fsynced and renamed
      (:class:`AtomicLocalBackend`), so a file is complete or absent;
    - old checkpoints (``max_keep_ckpts``, the previous best) are deleted
      only after the new one is complete;
    - ``last_checkpoint`` is updated only after its checkpoint is complete;
    - temporary files that a killed run left behind are deleted when
      training starts again.

    If a run dies after a new checkpoint is complete but before the old one
    is deleted, the new checkpoint still lists the old one in
    ``keep_ckpt_ids``, so the resumed run deletes it. Remote ``out_dir``
    backends (e.g. ``s3://``) keep their own ``put``, which publishes an
    object only when its upload is complete.

    It overrides two private methods of mmengine 0.10.7's hook (pinned),
    where the order of writing and deleting is decided:
    ``_save_checkpoint_with_step`` and ``_save_best_checkpoint``.
    """

    def before_train(self, runner) -> None:
        out_dir = self.out_dir or runner.work_dir
        local = isinstance(
            get_file_backend(out_dir, backend_args=self.backend_args),
            LocalBackend)
        if local and self.file_client_args is None:
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        elif local:
            runner.logger.warning(
                'AtomicCheckpointHook: file_client_args (deprecated by '
                'mmengine) bypasses the atomic local writer; use '
                'backend_args instead to get crash-safe checkpoints.')
        super().before_train(runner)
        if local and is_main_process():
            for path in remove_stale_partials(self.out_dir):
                runner.logger.info(
                    f'Removed {path}, an incomplete checkpoint left by a '
                    'run that was killed while saving.')

    def _remove(self, path: str) -> None:
        """Delete a checkpoint file (or a DeepSpeed checkpoint folder)."""
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step``, then point ``last_checkpoint``
        at it, then delete the checkpoints it displaces."""
        evicted: List[int] = []
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            kept = [*self.keep_ckpt_ids, step]
            evicted = kept[:-self.max_keep_ckpts]
            # Stored with the displaced ids: a run resumed from this file
            # deletes them even if this one dies before it does.
            runner.message_hub.update_info('keep_ckpt_ids', kept)
            self.keep_ckpt_ids.append(step)  # a deque: drops `evicted`
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if self.max_keep_ckpts > 0:
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        if not is_main_process():
            return
        atomic_write(osp.join(runner.work_dir, 'last_checkpoint'),
                     self.last_ckpt)
        for old in evicted:
            self._remove(self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """mmengine's best-checkpoint logic, with the previous best deleted
        only after the new best is saved."""
        backend = self.file_backend
        self.file_backend = deferred = _DeferredRemoval(backend)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        deferred.commit()
