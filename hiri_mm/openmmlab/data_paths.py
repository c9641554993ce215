"""Where a config's data lives: the paths its dataloaders and evaluators
read, moving them all to another data root (``--data-root``), and the
message that names what is missing and where to get it.

A config names its data in three kinds of places: each leaf dataset's
``data_root`` (with ``ann_file`` and ``data_prefix`` relative to it), and
the evaluators' own ``ann_file`` (mmdet's ``CocoMetric`` reads the ground
truth again, by a path that starts with the dataset's ``data_root``).
"""
import os.path as osp
from typing import Iterator, List, Sequence, Tuple

from mmengine.config import Config, ConfigDict

from ..errors import ConfigCheckError
from .config_checks import leaf_datasets, type_name

__all__ = ['SPLITS', 'dataset_paths', 'check_dataset_paths',
           'set_data_root', 'where_to_get']

SPLITS = ('train', 'val', 'test')

# Where each data set the configs use comes from, by dataset class, and the
# folder the configs expect it in (relative to the working directory).
DATA_SOURCES = {
    'CocoDataset': (
        'COCO 2017 (train2017, val2017 and annotations_trainval2017 from '
        'https://cocodataset.org/#download)',
        'data/coco/ with annotations/instances_{train,val}2017.json and '
        'train2017/, val2017/'),
    'ADE20KDataset': (
        'ADE20K (ADEChallengeData2016.zip from '
        'http://sceneparsing.csail.mit.edu/)',
        'data/ade/ADEChallengeData2016/ with images/{training,validation}/ '
        'and annotations/{training,validation}/'),
    'ImageFolderDataset': (
        'ImageNet-1k (ILSVRC2012 train and val from '
        'https://image-net.org/download.php)',
        'data/imagenet/ with train/<class>/*.JPEG and val/<class>/*.JPEG '
        '(validation images sorted into class folders)'),
}


def _leaves(cfg: Config, split: str) -> Iterator[ConfigDict]:
    loader = cfg.get(f'{split}_dataloader')
    if loader:
        yield from leaf_datasets(loader.dataset)


def _evaluators(cfg: Config, split: str) -> List[ConfigDict]:
    evaluator = cfg.get(f'{split}_evaluator')
    if isinstance(evaluator, dict):
        return [evaluator]
    return [e for e in evaluator or () if isinstance(e, dict)]


def dataset_paths(cfg: Config,
                  splits: Sequence[str]) -> List[Tuple[str, str]]:
    """``(where, path)`` for every annotation file and image folder that the
    given dataloaders (``'train'``, ``'val'``, ``'test'``) and their
    evaluators read."""
    paths = []
    for split in splits:
        for ds in _leaves(cfg, split):
            root = ds.get('data_root') or ''
            if ds.get('ann_file'):
                paths.append((f'{split}_dataloader ann_file',
                              osp.join(root, ds.ann_file)))
            for key, prefix in (ds.get('data_prefix') or {}).items():
                if isinstance(prefix, str) and prefix:
                    paths.append((f'{split}_dataloader data_prefix.{key}',
                                  osp.join(root, prefix)))
        if split != 'train':
            paths += [(f'{split}_evaluator ann_file', e.ann_file)
                      for e in _evaluators(cfg, split)
                      if isinstance(e.get('ann_file'), str)]
    return paths


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataloader and evaluator of ``cfg`` at ``data_root``.

    Each leaf dataset of the train, val and test dataloaders gets
    ``data_root``; an evaluator's ``ann_file`` under a dataset's old root
    moves with it (``data/coco/annotations/x.json`` becomes
    ``<data_root>/annotations/x.json``). Works for the COCO, ADE20K and
    ImageNet layouts alike: the paths below the root stay as the config
    has them.

    Args:
        cfg (Config): The config, changed in place.
        data_root (str): The folder that holds the data set's layout.
    """
    for split in SPLITS:
        old_roots = set()
        for ds in _leaves(cfg, split):
            if ds.get('data_root'):
                old_roots.add(osp.normpath(ds.data_root))
            ds.data_root = data_root
        for evaluator in _evaluators(cfg, split):
            ann_file = evaluator.get('ann_file')
            if not isinstance(ann_file, str):
                continue
            for old in old_roots:
                if osp.normpath(ann_file).startswith(old + osp.sep):
                    evaluator.ann_file = osp.join(
                        data_root, osp.relpath(ann_file, old))
                    break


def where_to_get(cfg: Config, splits: Sequence[str]) -> List[str]:
    """One line per data set of ``splits``: where to download it and where
    the config expects it."""
    lines = []
    for kind in sorted({type_name(ds) for split in splits
                        for ds in _leaves(cfg, split)}):
        if kind in DATA_SOURCES:
            source, layout = DATA_SOURCES[kind]
            lines.append(f'{kind}: download {source}; place it as '
                         f'{layout}')
    return lines


def check_dataset_paths(cfg: Config, splits: Sequence[str]) -> None:
    """Raise :class:`~hiri_mm.errors.ConfigCheckError` naming every missing
    dataset path, where the data set comes from and how to point the
    config at it."""
    missing = [(where, path) for where, path in dataset_paths(cfg, splits)
               if not osp.exists(path)]
    if not missing:
        return
    lines = '\n'.join(f'  {path}  ({where})' for where, path in missing)
    sources = '\n'.join(f'  {line}' for line in where_to_get(cfg, splits))
    raise ConfigCheckError(
        f'Dataset not found for {cfg.filename}:\n{lines}\n' +
        (f'Where to get it:\n{sources}\n' if sources else '') +
        'Data kept elsewhere: pass --data-root DIR (DIR holds the layout '
        'above; every dataloader and evaluator of the config moves there). '
        'See "Data layout" in the README.')
