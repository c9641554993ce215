"""What the train and test commands share: their common options, reading
the config, and CPU-only distributed set-up."""
import argparse
import itertools
import os
import os.path as osp
import time
from typing import Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from ..config_checks import walk_dicts
from ..data_paths import set_data_root
from ..mim import read_config

__all__ = ['add_common_args', 'load_config', 'unique_name', 'config_for',
           'sync_bn_to_bn', 'setup_cpu_distributed', 'launcher_rank']

_NAME_COUNTER = itertools.count()


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by the train and test tools (mmdet's names)."""
    parser.add_argument(
        'config', help='config file path or package path '
        '(hiri_mm::detection/maskrcnn_hiri_s_1x.py)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--data-root', metavar='DIR',
        help='read the data set from DIR: every dataloader and evaluator of '
        'the config moves there (DIR holds the layout the config expects, '
        'e.g. annotations/ and train2017/ for COCO)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_dataloader.batch_size=4)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read the config, apply --cfg-options, --data-root, --launcher and
    --work-dir, and give the visualizer a name of its own."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    cfg.launcher = args.launcher
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.name = unique_name(cfg.visualizer.get('name') or
                                          'visualizer')
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def unique_name(base: str) -> str:
    """``base`` made unique to this call: ``<base>_<time>_<pid>_<n>``.

    mmengine keeps visualizers in a global table by name: with a config's
    fixed name a second run in one process (``tools/demo.py`` trains
    detection, then segmentation) would reuse the first run's visualizer.
    The unique name is written into the config the Runner saves, so
    mmdet's and mmseg's recipe ``VISUALIZERS.build(model.cfg.visualizer)``
    works on that saved config too.
    """
    return f'{base}_{time.strftime("%Y%m%d_%H%M%S")}_{os.getpid()}_' \
        f'{next(_NAME_COUNTER)}'


def config_for(config: str, work_dir: str,
               cfg_options: Optional[Sequence[str]] = None) -> Config:
    """:func:`load_config` for callers without a command line (e.g.
    ``tools/demo.py``): ``config`` with ``work_dir`` and the
    ``key=value`` overrides of ``cfg_options``."""
    parser = argparse.ArgumentParser()
    add_common_args(parser)
    argv = [config, '--work-dir', work_dir]
    if cfg_options:
        argv += ['--cfg-options', *cfg_options]
    return load_config(parser.parse_args(argv))


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


# Where each launcher puts the global rank (torchrun, srun, Open MPI).
RANK_VARIABLES = dict(pytorch='RANK', slurm='SLURM_PROCID',
                      mpi='OMPI_COMM_WORLD_RANK')


def launcher_rank(launcher: str) -> int:
    """This process's global rank as ``launcher`` set it, before the
    process group exists; 0 for ``'none'``."""
    return int(os.environ.get(RANK_VARIABLES.get(launcher, ''), 0))
