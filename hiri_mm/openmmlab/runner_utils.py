"""The command-line side of ``tools/train.py`` and ``tools/test.py``:
options common to both, config loading, CPU-only distributed set-up, and
the :func:`train` / :func:`test` entry points that the tools and
``tools/demo.py`` call."""
import argparse
import os
import os.path as osp
import re
from typing import Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner, find_latest_checkpoint

from .config_checks import (check_data, check_dataset_paths,
                            check_num_classes, check_strides, walk_dicts)
from .mim import read_config

# A checkpoint given by URL (http://, s3://, open-mmlab://, ...).
URL_SCHEME = re.compile(r'^[\w+.-]*:?[\w+.-]+://')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by the train and test tools (mmdet's names)."""
    parser.add_argument(
        'config', help='config file path or package path '
        '(hiri_mm::detection/maskrcnn_hiri_s_1x.py)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_dataloader.batch_size=4)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read the config, apply --cfg-options, --launcher and --work-dir."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    # mmengine keeps visualizers in a global table by name; with the configs'
    # fixed name a second run in one process (tools/demo.py trains detection,
    # then segmentation) would reuse the first run's visualizer. Without a
    # name the Runner uses its unique, timestamped experiment name.
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.pop('name', None)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def config_for(config: str, work_dir: str) -> Config:
    """:func:`load_config` for callers without a command line (e.g.
    ``tools/demo.py``): ``config`` with ``work_dir``, no overrides."""
    return load_config(argparse.Namespace(
        config=config, work_dir=work_dir, cfg_options=None, launcher='none',
        local_rank=0))


def sync_bn_to_bn(cfg: Config) -> int:
    """Turn every ``SyncBN`` norm of ``cfg.model`` into ``BN`` (SyncBatchNorm
    needs CUDA); return how many were changed."""
    changed = 0
    for _, node in walk_dicts(cfg.model):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            changed += 1
    return changed


def setup_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` run on CPU-only machines.

    mmengine's pytorch launcher calls ``torch.cuda.set_device`` and wraps the
    model for one GPU per process. Without CUDA, start the gloo process group
    here (the Runner then skips its own initialisation), wrap the model with
    a CPU DistributedDataParallel (``device_ids=None``) and turn SyncBN norms
    into BN (one process runs on CPU, so mmengine's own SyncBN revert for
    single-process runs does not apply).
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    changed = sync_bn_to_bn(cfg)
    if changed:
        print_log(
            f'CPU-only distributed run: {changed} SyncBN norm_cfg(s) of the '
            'model changed to BN (SyncBatchNorm needs a GPU); BatchNorm '
            'statistics are per process.', logger='current')


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
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--drop-bad-data', action='store_true',
        help='train without the images and annotations that the data check '
        'finds bad (logged, with counts) instead of stopping with the list; '
        'the cleaned annotations go to WORK_DIR/checked_data/')
    parser.add_argument('--skip-data-check', action='store_true',
                        help='do not read the annotations and image '
                        'headers before training')
    return parser.parse_args(argv)


def train(argv: Optional[Sequence[str]] = None) -> Runner:
    """``tools/train.py``: check the config and its data, then train.

    Args:
        argv (list[str], optional): Command-line arguments (default
            ``sys.argv[1:]``), see :func:`parse_train_args`.

    Returns:
        Runner: The runner after training.
    """
    args = parse_train_args(argv)
    cfg = load_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise SystemExit('--auto-scale-lr needs auto_scale_lr = '
                             'dict(enable=..., base_batch_size=...) in the '
                             'config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        resume_auto(cfg)
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
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
        check_data(cfg, splits, args.drop_bad_data)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def resume_auto(cfg: Config) -> None:
    """``--resume`` without a path: continue from the work dir's latest
    checkpoint. When there is none yet (a run that stopped before its first
    save), start as the config says, keeping a weights-only ``load_from``
    (e.g. a fine-tuning config's pretrained weights) instead of silently
    starting from random weights."""
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest is not None:
        cfg.resume, cfg.load_from = True, latest
        return
    print_log(f'--resume: no checkpoint in {cfg.work_dir} yet; starting '
              + (f'from load_from={cfg.load_from}' if cfg.get('load_from')
                 else 'from scratch'), logger='current')
    cfg.resume = False


def test(cfg: Config, checkpoint: str) -> dict:
    """Evaluate ``checkpoint`` on ``cfg``'s test set (the end of
    ``tools/test.py``, after its options have edited ``cfg``).

    Args:
        cfg (Config): A config from :func:`load_config`.
        checkpoint (str): A local file or a URL of any scheme that
            :mod:`hiri_mm.openmmlab.checkpoint` loads safely.

    Returns:
        dict: The metrics.
    """
    if not URL_SCHEME.match(checkpoint) and not osp.isfile(checkpoint):
        raise SystemExit(f'Checkpoint not found: {checkpoint}')
    cfg.load_from = checkpoint
    check_dataset_paths(cfg, ('test', ))
    setup_cpu_distributed(cfg)
    return Runner.from_cfg(cfg).test()
