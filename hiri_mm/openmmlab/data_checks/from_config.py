"""The data check of a config: each leaf dataset of the given dataloaders
checked once (:mod:`.coco`, :mod:`.segmentation`), bad entries reported
or dropped into a cleaned copy under the work dir."""
import inspect
import json
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger

from ...errors import DataCheckError
from ...fileutils import atomic_write
from ..config_checks import dataset_class, dataset_classes, leaf_datasets
from .coco import check_coco
from .problems import CheckedDataset, Problem, join_root
from .segmentation import LabelSpec, check_segmentation

__all__ = ['SHOWN_PROBLEMS', 'check_data', 'format_problems']

# How many problems the stop message lists.
SHOWN_PROBLEMS = 20
DROP_HELP = ('Fix or remove these entries, or run with --drop-bad-data to '
             'train without them (a cleaned copy of the annotations is '
             'written to the work dir; the data set is not modified).')


def _defaults(dataset_cls: Optional[type]) -> Dict[str, Any]:
    """The default arguments of a dataset class."""
    return {} if dataset_cls is None else {
        k: p.default
        for k, p in inspect.signature(dataset_cls).parameters.items()}


def _label_spec(cfg: Config, ds: ConfigDict,
                dataset_cls: Optional[type]) -> Optional[LabelSpec]:
    """The :class:`LabelSpec` a segmentation dataset and the model's decode
    head train with; None without class names."""
    classes = dataset_classes(cfg, ds)
    if not classes:
        return None
    label_map = None
    if dataset_cls is not None and 'classes' in (ds.get('metainfo') or {}):
        try:
            label_map = dataset_cls.get_label_map(classes)
        except ValueError:  # mmseg names the classes when it builds the set
            label_map = None
    head = (cfg.get('model') or {}).get('decode_head') or {}
    return LabelSpec(
        len(classes),
        head.get('ignore_index', 255) if isinstance(head, dict) else 255,
        bool(ds.get('reduce_zero_label', _defaults(dataset_cls).get(
            'reduce_zero_label', False))), label_map)


def _check_leaf(cfg: Config, ds: ConfigDict,
                decode: bool) -> Optional[CheckedDataset]:
    """Check one leaf dataset config; None for kinds not checked here."""
    root = ds.get('data_root') or ''
    prefix = ds.get('data_prefix') or {}
    ann_file = ds.get('ann_file') or ''
    pipeline = ds.get('pipeline') or []
    if ann_file.endswith('.json'):
        img_dir = join_root(root, prefix.get('img', ''))
        return check_coco(join_root(root, ann_file), img_dir, pipeline,
                          dataset_classes(cfg, ds), root or img_dir, decode)
    if 'seg_map_path' in prefix:
        dataset_cls = dataset_class(cfg, ds)
        defaults = _defaults(dataset_cls)
        img_dir = join_root(root, prefix.get('img_path', ''))
        names = None
        if ann_file and osp.isfile(join_root(root, ann_file)):
            with open(join_root(root, ann_file)) as f:
                names = [line.strip() for line in f if line.strip()]
        return check_segmentation(
            img_dir, join_root(root, prefix['seg_map_path']),
            ds.get('img_suffix', defaults.get('img_suffix', '.jpg')),
            ds.get('seg_map_suffix', defaults.get('seg_map_suffix', '.png')),
            names, pipeline, _label_spec(cfg, ds, dataset_cls), decode)
    return None


def _apply_cleaned(cfg: Config, ds: ConfigDict, split: str, index: int,
                   checked: CheckedDataset) -> str:
    """Write the cleaned annotations under the work dir and point the
    dataset (and an evaluator reading the same file) at them."""
    out_dir = osp.join(osp.abspath(cfg.work_dir), 'checked_data')
    if isinstance(checked.cleaned, dict):
        out = osp.join(out_dir, f'{split}{index}_'
                       f'{osp.basename(checked.source)}')
        atomic_write(out, json.dumps(checked.cleaned))
        evaluator = cfg.get(f'{split}_evaluator')
        for ev in evaluator if isinstance(evaluator, list) else [evaluator]:
            if isinstance(ev, dict) and ev.get('ann_file') and \
                    osp.abspath(ev.ann_file) == osp.abspath(checked.source):
                ev.ann_file = out
    else:
        out = osp.join(out_dir, f'{split}{index}_samples.txt')
        atomic_write(out, ''.join(f'{n}\n' for n in checked.cleaned))
    ds.ann_file = out
    return out


def check_data(cfg: Config, splits: Sequence[str] = ('train', ),
               drop_bad_data: bool = False,
               logger: Optional[MMLogger] = None,
               decode: bool = True) -> List[CheckedDataset]:
    """Check the data of the given dataloaders before training.

    Reads each annotation file once and decodes every image once. Without
    ``drop_bad_data`` it raises DataCheckError listing the first
    :data:`SHOWN_PROBLEMS` problems with their file and id, and the count of
    each kind. With ``drop_bad_data`` it logs the same list and how many
    entries it drops, writes a cleaned copy of the annotations under
    ``<work_dir>/checked_data/`` and points ``cfg`` at it (the data set
    itself is not modified); an unreadable annotation file, or categories
    that disagree with the config's classes, still stop.

    Args:
        cfg (Config): The config; datasets are changed in place on drop.
        splits (list[str]): Dataloaders to check: 'train', 'val', 'test'.
        drop_bad_data (bool): Drop bad entries instead of stopping.
        logger (MMLogger, optional): Where to log; default the current one.
        decode (bool): Decode every image (finds truncated files); False
            reads image headers only.

    Returns:
        list[CheckedDataset]: One per checked annotation file or folder.
    """
    logger = logger or MMLogger.get_current_instance()
    results, checked = [], {}
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for index, ds in enumerate(leaf_datasets(loader.dataset)):
            key = json.dumps(ds.to_dict() if isinstance(ds, ConfigDict)
                             else dict(ds), sort_keys=True, default=str)
            first = key not in checked  # val and test often share one
            if first:
                checked[key] = _check_leaf(cfg, ds, decode)
            result = checked[key]
            if result is None:
                continue
            if first:
                results.append(result)
            if drop_bad_data and result.problems and result.droppable:
                out = _apply_cleaned(cfg, ds, split, index, result)
                if first:
                    logger.warning(format_problems(result.problems, False))
                logger.warning(
                    f'--drop-bad-data: dropped {result.dropped["images"]} '
                    f'images and {result.dropped["annotations"]} annotations '
                    f'of {result.source} ({len(result.problems)} problems); '
                    f'{split} reads {out}')
    problems = [p for r in results for p in r.problems
                if not drop_bad_data or not r.droppable]
    if problems:
        raise DataCheckError(format_problems(
            problems, can_drop=not drop_bad_data
            and all(p.droppable for p in problems)))
    return results


def format_problems(problems: Sequence[Problem], can_drop: bool) -> str:
    """The first :data:`SHOWN_PROBLEMS` problems, the count per kind, and
    (``can_drop``) how to drop them."""
    counts = Counter(p.kind for p in problems)
    lines = [f'Bad data: {len(problems)} problems'] + \
        [f'  {p}' for p in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(f'  ... and {len(problems) - SHOWN_PROBLEMS} more')
    lines.append('Counts: ' + ', '.join(
        f'{kind}: {n}' for kind, n in counts.most_common()))
    if can_drop:
        lines.append(DROP_HELP)
    return '\n'.join(lines)
