"""Helpers shared by ``tools/train.py`` and ``tools/test.py``: command-line
options common to both, and a check that the dataset files a config names
exist before a Runner spends minutes building a model."""
import argparse
import os
import os.path as osp
from typing import Iterator, List, Tuple

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict, DictAction

from .config_checks import walk_dicts

DATA_HELP = ('See "Data layout" in the README for where COCO / ADE20K '
             'must be placed, or set the paths with --cfg-options '
             '(e.g. train_dataloader.dataset.data_root=/path/to/coco/).')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by the train and test tools (mmdet's names)."""
    parser.add_argument('config', help='config file path')
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
    cfg = Config.fromfile(args.config)
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


def _datasets(dataset: ConfigDict) -> Iterator[ConfigDict]:
    """Leaf datasets of (possibly wrapped or concatenated) dataset configs."""
    if 'datasets' in dataset:
        for child in dataset.datasets:
            yield from _datasets(child)
    elif 'dataset' in dataset:
        yield from _datasets(dataset.dataset)
    else:
        yield dataset


def dataset_paths(cfg: Config, splits: Tuple[str, ...]) -> List[Tuple[str,
                                                                      str]]:
    """``(where, path)`` for every annotation file and image folder that the
    given dataloaders (``'train'``, ``'val'``, ``'test'``) read."""
    paths = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for ds in _datasets(loader.dataset):
            root = ds.get('data_root') or ''
            if ds.get('ann_file'):
                paths.append((f'{split}_dataloader ann_file',
                              osp.join(root, ds.ann_file)))
            for key, prefix in (ds.get('data_prefix') or {}).items():
                if isinstance(prefix, str) and prefix:
                    paths.append((f'{split}_dataloader data_prefix.{key}',
                                  osp.join(root, prefix)))
        evaluator = cfg.get(f'{split}_evaluator')
        if split != 'train' and isinstance(evaluator, dict) and \
                evaluator.get('ann_file'):
            paths.append((f'{split}_evaluator ann_file', evaluator.ann_file))
    return paths


def check_dataset_paths(cfg: Config, splits: Tuple[str, ...]) -> None:
    """Exit with a message naming every missing dataset path."""
    missing = [(where, path) for where, path in dataset_paths(cfg, splits)
               if not osp.exists(path)]
    if missing:
        lines = '\n'.join(f'  {path}  ({where})' for where, path in missing)
        raise SystemExit(
            f'Dataset not found for {cfg.filename}:\n{lines}\n{DATA_HELP}')


def _dataset_classes(cfg: Config) -> Tuple[str, ...]:
    """Class names the training set will report (config metainfo first,
    then the dataset class's own METAINFO)."""
    from mmengine.registry import DATASETS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    leaf = next(_datasets(cfg.train_dataloader.dataset))
    metainfo = leaf.get('metainfo') or {}
    if 'classes' in metainfo:
        return tuple(metainfo['classes'])
    dataset_cls = DATASETS.get(leaf.type)
    return tuple(getattr(dataset_cls, 'METAINFO', {}).get('classes', ()))


def check_num_classes(cfg: Config) -> None:
    """Exit when a head's ``num_classes`` differs from the dataset's."""
    classes = _dataset_classes(cfg)
    if not classes:
        return
    wrong = [f'  {path}.num_classes = {node.num_classes}'
             for path, node in walk_dicts(cfg.model)
             if 'num_classes' in node and 'rpn_head' not in path
             and node.num_classes != len(classes)]
    if wrong:
        raise SystemExit(
            f'The dataset has {len(classes)} classes {classes[:5]}'
            f'{"..." if len(classes) > 5 else ""}, but\n' + '\n'.join(wrong) +
            '\nSet these to the dataset\'s class count, or give the dataset '
            'metainfo=dict(classes=(...)) that matches the heads.')


def setup_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` run on CPU-only machines.

    mmengine's pytorch launcher calls ``torch.cuda.set_device`` and wraps the
    model for one GPU per process. Without CUDA, start the gloo process group
    here (the Runner then skips its own initialisation) and wrap the model
    with a CPU DistributedDataParallel (``device_ids=None``).
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
