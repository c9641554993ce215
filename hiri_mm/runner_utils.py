"""Helpers shared by ``tools/train.py`` and ``tools/test.py``: command-line
options common to both, and a check that the dataset files a config names
exist before a Runner spends minutes building a model."""
import argparse
import os
import os.path as osp
from typing import Iterator, List, Tuple

from mmengine.config import Config, ConfigDict, DictAction

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
