"""``tools/train.py``: options, the checks before training, where to start
from, one run per work dir, then the Runner."""
import argparse
import glob
import logging
import os.path as osp
import re
import zipfile
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.runner import Runner

from ...errors import ResumeError, UsageError, WorkDirInUseError
from ...fileutils import FileLock
from ..config_checks import check_num_classes, check_strides
from ..data_checks import check_data
from ..data_paths import check_dataset_paths
from ..logging import quiet_logs
from .common import (add_common_args, launcher_rank, load_config,
                     setup_cpu_distributed)

__all__ = ['parse_train_args', 'train', 'use_atomic_checkpoints',
           'fp32_optim_wrapper', 'use_fp32_without_gpu', 'saved_checkpoints',
           'latest_checkpoint', 'resume_auto', 'choose_start',
           'lock_work_dir', 'WORK_DIR_LOCK']

# The lock file that keeps a second training run out of a work dir.
WORK_DIR_LOCK = '.hiri_mm_train.lock'
# Arguments of mmengine's AmpOptimWrapper that OptimWrapper does not take.
AMP_ONLY = ('loss_scale', 'dtype', 'use_fsdp')
# Checkpoints a CheckpointHook saves: epoch_<n>.pth or iter_<n>.pth.
CHECKPOINT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def parse_train_args(
        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The options of ``tools/train.py``."""
    parser = argparse.ArgumentParser(description='Train a model')
    add_common_args(parser)
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the total batch '
                        'size (auto_scale_lr.base_batch_size in the config)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest complete checkpoint in the work dir')
    parser.add_argument(
        '--drop-bad-data', action='store_true',
        help='train without the images and annotations that the data check '
        'finds bad (logged, with counts) instead of stopping with the list; '
        'the cleaned annotations go to WORK_DIR/checked_data/')
    parser.add_argument('--skip-data-check', action='store_true',
                        help='do not check the annotations and images '
                        'before training')
    parser.add_argument(
        '--fast-data-check', action='store_true',
        help='check image headers instead of decoding every image: '
        'faster, blind to truncated files')
    return parser.parse_args(argv)


def use_atomic_checkpoints(cfg: Config) -> bool:
    """Replace a plain ``CheckpointHook`` in ``cfg.default_hooks`` by
    :class:`~hiri_mm.openmmlab.hooks.AtomicCheckpointHook` (same arguments);
    return whether it did."""
    from mmengine.hooks import CheckpointHook
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if not isinstance(hook, dict):
        return False
    kind = hook.get('type')
    if kind is CheckpointHook or (isinstance(kind, str) and
                                  kind.split('.')[-1] == 'CheckpointHook'):
        hook.type = 'AtomicCheckpointHook'
        return True
    return False


def fp32_optim_wrapper(optim_wrapper: dict) -> dict:
    """``optim_wrapper`` as mmengine's fp32 ``OptimWrapper``: the same
    optimizer, parameter-wise settings and clipping, without the
    ``AmpOptimWrapper``'s own arguments."""
    fp32 = {k: v for k, v in optim_wrapper.items() if k not in AMP_ONLY}
    fp32['type'] = 'OptimWrapper'
    return fp32


def use_fp32_without_gpu(cfg: Config) -> bool:
    """Train an fp16 config (``AmpOptimWrapper``, as every COCO and ADE20K
    config is) in fp32 where there is no GPU: mmengine's AmpOptimWrapper
    refuses to build there. Return whether it changed the config."""
    kind = cfg.optim_wrapper.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    if name.split('.')[-1] != 'AmpOptimWrapper' or get_device() != 'cpu':
        return False
    cfg.optim_wrapper = fp32_optim_wrapper(cfg.optim_wrapper)
    print_log('No GPU: the config trains in fp16 (AmpOptimWrapper), which '
              'needs one; training in fp32 with OptimWrapper instead.',
              logger='current', level=logging.WARNING)
    return True


def _apply_options(cfg: Config, args: argparse.Namespace) -> None:
    """--amp and --auto-scale-lr."""
    if args.amp:
        if get_device() == 'cpu':
            raise UsageError("--amp needs a GPU (mmengine's AmpOptimWrapper "
                             'runs fp16 on CUDA): leave it out to train in '
                             'fp32 on the CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise UsageError(
                f'--auto-scale-lr needs auto_scale_lr = dict(enable=..., '
                f'base_batch_size=...) in {cfg.filename}')
        cfg.auto_scale_lr.enable = True


def saved_checkpoints(work_dir: str) -> List[str]:
    """The ``epoch_<n>.pth`` / ``iter_<n>.pth`` files in ``work_dir``,
    oldest first (by ``n``)."""
    ordered = []
    for path in glob.glob(osp.join(glob.escape(work_dir), '*.pth')):
        match = CHECKPOINT_NAME.match(osp.basename(path))
        if match:
            ordered.append((match.group(1), int(match.group(2)), path))
    return [path for _, _, path in sorted(ordered)]


def _complete(path: str) -> bool:
    """Whether ``path`` is a whole torch checkpoint (a zip archive whose
    directory at the end is intact; a truncated file has none)."""
    return zipfile.is_zipfile(path)


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume from: the one ``last_checkpoint`` names
    when it is complete, else the newest complete saved checkpoint."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if osp.isfile(named) and _complete(named):
            return named
    complete = [p for p in saved_checkpoints(work_dir) if _complete(p)]
    return complete[-1] if complete else None


def resume_auto(cfg: Config) -> None:
    """``--resume`` without a path: continue from
    :func:`latest_checkpoint`. With no checkpoint at all yet (a run that
    stopped before its first save), start as the config says, keeping a
    weights-only ``load_from`` (e.g. a fine-tuning config's pretrained
    weights).

    Raises:
        ResumeError: The work dir holds checkpoints, none of them complete.
    """
    latest = latest_checkpoint(cfg.work_dir)
    if latest is not None:
        cfg.resume, cfg.load_from = True, latest
        print_log(f'--resume: continuing from {latest}', logger='current')
        return
    saved = saved_checkpoints(cfg.work_dir)
    if saved:
        raise ResumeError(
            f'--resume: {cfg.work_dir} holds {_names(saved)}, but none is a '
            'complete checkpoint (truncated by a crash?). Pass the one to '
            'resume from (--resume PATH), or move them away to start '
            'again.')
    print_log(f'--resume: no checkpoint in {cfg.work_dir} yet; starting '
              + (f'from load_from={cfg.load_from}' if cfg.get('load_from')
                 else 'from scratch'), logger='current')
    cfg.resume = False


def _names(paths: Sequence[str]) -> str:
    names = [osp.basename(p) for p in paths]
    return ', '.join(names[:5]) + (f' and {len(names) - 5} more'
                                   if len(names) > 5 else '')


def _refuse_overwrite(cfg: Config) -> None:
    """Stop a run from the start in a work dir with saved checkpoints,
    which it would overwrite."""
    saved = saved_checkpoints(cfg.work_dir)
    if saved:
        raise ResumeError(
            f'{cfg.work_dir} holds {_names(saved)} of an earlier run; '
            'training from the start would overwrite them. Pass --resume '
            'to continue from the newest complete one, or choose another '
            '--work-dir.')


def choose_start(cfg: Config, resume: Optional[str]) -> None:
    """Set ``cfg.resume`` / ``cfg.load_from`` from ``--resume`` (``'auto'``
    without a path) and the config's own ``resume``."""
    if resume == 'auto' or (resume is None and cfg.get('resume') is True
                            and not cfg.get('load_from')):
        resume_auto(cfg)
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    elif not cfg.get('resume'):
        _refuse_overwrite(cfg)


def lock_work_dir(work_dir: str) -> FileLock:
    """Hold ``<work_dir>/.hiri_mm_train.lock`` exclusively for this run.

    Raises:
        WorkDirInUseError: Another process holds it; names its pid.
    """
    lock = FileLock(osp.join(work_dir, WORK_DIR_LOCK))
    if not lock.acquire(blocking=False):
        owner = lock.owner()
        lock.release()
        raise WorkDirInUseError(
            f'{work_dir} is in use by another training run (pid {owner}): '
            'two runs in one work dir overwrite each other\'s checkpoints '
            'and logs. Wait for it to end, or pass another --work-dir.')
    return lock


def train(argv: Optional[Sequence[str]] = None) -> Runner:
    """``tools/train.py``: check the config and its data, then train.

    Args:
        argv (list[str], optional): Command-line arguments (default
            ``sys.argv[1:]``), see :func:`parse_train_args`.

    Returns:
        Runner: The runner after training.

    Raises:
        HiriMMError: A check failed (config, data, work dir, resume); the
            message names what and the fix. No Runner was built.
    """
    quiet_logs()
    args = parse_train_args(argv)
    cfg = load_config(args)
    _apply_options(cfg, args)
    use_fp32_without_gpu(cfg)
    upgraded = use_atomic_checkpoints(cfg)
    splits = ('train', 'val') if cfg.get('val_cfg') else ('train', )
    check_dataset_paths(cfg, splits)
    check_num_classes(cfg)
    check_strides(cfg)
    if upgraded:
        print_log('default_hooks.checkpoint: CheckpointHook -> '
                  'AtomicCheckpointHook (crash-safe checkpoints)',
                  logger='current')
    if not args.skip_data_check:
        check_data(cfg, splits, args.drop_bad_data,
                   decode=not args.fast_data_check)
    lock = lock_work_dir(cfg.work_dir) \
        if launcher_rank(cfg.launcher) == 0 else None
    try:
        choose_start(cfg, args.resume)
        setup_cpu_distributed(cfg)
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        if lock is not None:
            lock.release()
    return runner
