"""The data check that ``tools/train.py`` runs before training: the
annotation files and images themselves, read once (image headers only):
COCO-style JSON sets (mmdet) and folder-based semantic segmentation sets
(mmseg, ADE20K layout). Other datasets (e.g. classification folders) are
skipped. Bad data raises :class:`~hiri_mm.errors.DataCheckError` listing
each problem with its file and entry, or is dropped on request."""
import inspect
import json
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger

from ..errors import DataCheckError
from ..fileutils import atomic_write
from .config_checks import dataset_class, leaf_datasets
from .image_checks import degenerate, read_image_headers, resize_targets

__all__ = ['SHOWN_PROBLEMS', 'Problem', 'CheckedDataset', 'check_coco',
           'check_segmentation', 'check_data', 'format_problems']

# Boxes may overhang the image by this much (rounding in real annotations).
BOX_TOLERANCE = 1.0
# How many problems the stop message lists.
SHOWN_PROBLEMS = 20
DROP_HELP = ('Fix or remove these entries, or run with --drop-bad-data to '
             'train without them (a cleaned copy of the annotations is '
             'written to the work dir; the data set is not modified).')


@dataclass
class Problem:
    """One bad entry of a data set.

    Args:
        file (str): The image, label map or annotation file at fault.
        where (str): Which entry, e.g. ``'annotation id 17 (image id 3)'``.
        kind (str): What is wrong, e.g. ``'zero-byte file'`` (for counts).
        detail (str): The values at fault, e.g. the box.
    """
    file: str
    where: str
    kind: str
    detail: str = ''

    def __str__(self) -> str:
        where = f'{self.where}: ' if self.where else ''
        detail = f' ({self.detail})' if self.detail else ''
        return f'{self.file}: {where}{self.kind}{detail}'


def _join(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


@dataclass
class CheckedDataset:
    """The outcome of checking one annotation file (or label folder).

    Args:
        source (str): The annotation file or image folder checked.
        problems (list[Problem]): Every bad entry found.
        dropped (Counter): How many ``'images'`` and ``'annotations'``
            dropping the bad entries removes.
        cleaned (Any): The data without the bad entries: the COCO dict, or
            the list of sample names of a segmentation set; None when the
            annotation file itself cannot be read.
        images (int): How many images were checked.
        annotations (int): How many annotations (COCO) were checked.
    """
    source: str
    problems: List[Problem]
    dropped: Counter
    cleaned: Any
    images: int = 0
    annotations: int = 0


def _load_json(path: str) -> Tuple[Optional[dict], List[Problem]]:
    """A COCO annotation file, or the problem that makes it unreadable."""
    if os.stat(path).st_size == 0:
        return None, [Problem(path, '', 'empty annotation file')]
    try:
        with open(path, 'rb') as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        return None, [Problem(path, f'line {e.lineno} column {e.colno}',
                              'invalid JSON', e.msg)]
    except UnicodeDecodeError as e:
        return None, [Problem(path, f'byte {e.start}', 'invalid JSON',
                              'not UTF-8 text')]
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), list)
            for k in ('images', 'annotations', 'categories')):
        return None, [Problem(path, '', 'not a COCO annotation file',
                              'needs lists "images", "annotations" and '
                              '"categories"')]
    return data, []


def _annotation_problem(ann: dict, img: dict,
                        categories: dict) -> Optional[Tuple[str, str]]:
    """(kind, detail) of what is wrong with a COCO annotation, or None."""
    box = ann.get('bbox')
    if ann.get('category_id') not in categories:
        return 'unknown category id', (
            f'{ann.get("category_id")!r}; categories are '
            f'{sorted(categories)[:10]}')
    if not (isinstance(box, list) and len(box) == 4 and all(
            isinstance(v, (int, float)) for v in box)):
        return 'malformed bbox', f'{box!r} is not [x, y, width, height]'
    if box[2] <= 0 or box[3] <= 0:
        return 'invalid box', f'{box}: non-positive width/height'
    if (box[0] < -BOX_TOLERANCE or box[1] < -BOX_TOLERANCE
            or box[0] + box[2] > img['width'] + BOX_TOLERANCE
            or box[1] + box[3] > img['height'] + BOX_TOLERANCE):
        return 'invalid box', (f'{box}: outside the {img["width"]}x'
                               f'{img["height"]} image')
    return None


def check_coco(ann_file: str, img_dir: str,
               pipeline: Sequence[dict] = (),
               classes: Sequence[str] = ()) -> CheckedDataset:
    """Check a COCO-format annotation file and the images it names.

    Args:
        ann_file (str): The JSON file.
        img_dir (str): The folder that ``file_name`` is relative to.
        pipeline (list[dict]): The dataset's pipeline, for the resize limit.
        classes (list[str]): The config's class names (empty: all).

    Returns:
        CheckedDataset: ``cleaned`` is the COCO dict without the bad images
        (and their annotations) and the bad annotations.
    """
    data, problems = _load_json(ann_file)
    if data is None:
        return CheckedDataset(ann_file, problems, Counter(), None)
    categories = {c.get('id'): c.get('name') for c in data['categories']
                  if isinstance(c, dict)}
    if classes and not set(classes) & set(categories.values()):
        problems.append(Problem(
            ann_file, 'categories', 'no config class is a category',
            f'classes {tuple(classes)[:5]}, category names '
            f'{sorted(map(str, categories.values()))[:5]}'))
    targets = resize_targets(pipeline)

    images: Dict[Any, dict] = {}
    bad_images: Set[Any] = set()
    for i, img in enumerate(data['images']):
        img_id = img.get('id') if isinstance(img, dict) else None
        if img_id is None or 'file_name' not in img:
            problems.append(Problem(ann_file, f'images[{i}]',
                                    'malformed image entry',
                                    'needs "id" and "file_name"'))
        elif img_id in images:
            problems.append(Problem(ann_file, f'image id {img_id}',
                                    'duplicate image id'))
            bad_images.add(img_id)
        else:
            images[img_id] = img
    paths = [osp.join(img_dir, img['file_name']) for img in images.values()]
    for (img_id, img), path, info in zip(images.items(), paths,
                                         read_image_headers(paths)):
        error = info.error
        if error is None and degenerate(info.size, targets):
            error = ('degenerate image', degenerate(info.size, targets))
        declared = (img.get('width'), img.get('height'))
        if error is None and declared not in (info.size, info.size[::-1]):
            error = ('size mismatch', f'{declared[0]}x{declared[1]} in '
                     f'{osp.basename(ann_file)}, {info.size[0]}x'
                     f'{info.size[1]} in the file')
        if error:
            problems.append(Problem(path, f'image id {img_id}', *error))
            bad_images.add(img_id)

    kept, ann_ids = [], set()
    dropped = Counter(images=len(bad_images))
    for i, ann in enumerate(data['annotations']):
        if not isinstance(ann, dict):
            error, where = ('malformed annotation', 'not an object'), \
                f'annotations[{i}]'
        else:
            ann_id, img_id = ann.get('id'), ann.get('image_id')
            where = f'annotation id {ann_id} (image id {img_id})'
            if ann_id in ann_ids:
                error = ('duplicate annotation id', '')
            elif img_id not in images:
                error = ('unknown image id', f'{img_id!r}')
            elif img_id in bad_images:  # dropped with its image
                error = None
            else:
                error = _annotation_problem(ann, images[img_id], categories)
            ann_ids.add(ann_id)
        if error:
            problems.append(Problem(ann_file, where, *error))
        if error or ann['image_id'] in bad_images:
            dropped['annotations'] += 1
        else:
            kept.append(ann)
    cleaned = dict(data, annotations=kept,
                   images=[img for img_id, img in images.items()
                           if img_id not in bad_images])
    return CheckedDataset(ann_file, problems, dropped, cleaned,
                          len(data['images']), len(data['annotations']))


def check_segmentation(img_dir: str, seg_dir: str, img_suffix: str,
                       seg_map_suffix: str, names: Optional[List[str]] = None,
                       pipeline: Sequence[dict] = ()) -> CheckedDataset:
    """Check a folder-based semantic segmentation set (mmseg's layout).

    Args:
        img_dir (str): The image folder.
        seg_dir (str): The label-map folder.
        img_suffix (str): Image file suffix, e.g. ``'.jpg'``.
        seg_map_suffix (str): Label map suffix, e.g. ``'.png'``.
        names (list[str], optional): Sample names (paths relative to
            ``img_dir`` without suffix) from an ``ann_file``; default: every
            image under ``img_dir``, as mmseg lists them.
        pipeline (list[dict]): The dataset's pipeline, for the resize limit.

    Returns:
        CheckedDataset: ``cleaned`` is the list of good sample names.
    """
    if names is None:
        names = sorted(
            osp.relpath(osp.join(folder, f), img_dir)[:-len(img_suffix)]
            for folder, _, files in os.walk(img_dir) for f in files
            if f.endswith(img_suffix))
    images = [osp.join(img_dir, n + img_suffix) for n in names]
    labels = [osp.join(seg_dir, n + seg_map_suffix) for n in names]
    headers = read_image_headers(images + labels)
    targets = resize_targets(pipeline)
    problems, cleaned = [], []
    for name, image_path, label_path, image, label in zip(
            names, images, labels, headers[:len(names)],
            headers[len(names):]):
        found = [Problem(path, what, *info.error)
                 for path, what, info in ((image_path, 'image', image),
                                          (label_path, 'label map', label))
                 if info.error]
        if not found and degenerate(image.size, targets):
            found.append(Problem(image_path, 'image', 'degenerate image',
                                 degenerate(image.size, targets)))
        if not found and image.size != label.size:
            found.append(Problem(
                image_path, 'image', 'size mismatch',
                f'image {image.size[0]}x{image.size[1]}, label map '
                f'{label_path} {label.size[0]}x{label.size[1]}'))
        problems += found
        if not found:
            cleaned.append(name)
    return CheckedDataset(img_dir, problems,
                          Counter(images=len(names) - len(cleaned)), cleaned,
                          len(names))


def _check_leaf(cfg: Config, ds: ConfigDict) -> Optional[CheckedDataset]:
    """Check one leaf dataset config; None for kinds not checked here."""
    root = ds.get('data_root') or ''
    prefix = ds.get('data_prefix') or {}
    ann_file = ds.get('ann_file') or ''
    pipeline = ds.get('pipeline') or []
    if ann_file.endswith('.json'):
        classes = (ds.get('metainfo') or {}).get('classes') or ()
        return check_coco(_join(root, ann_file),
                          _join(root, prefix.get('img', '')), pipeline,
                          classes)
    if 'seg_map_path' in prefix:
        dataset_cls = dataset_class(cfg, ds)
        defaults = {} if dataset_cls is None else {
            k: p.default
            for k, p in inspect.signature(dataset_cls).parameters.items()}
        img_dir = _join(root, prefix.get('img_path', ''))
        names = None
        if ann_file and osp.isfile(_join(root, ann_file)):
            with open(_join(root, ann_file)) as f:
                names = [line.strip() for line in f if line.strip()]
        return check_segmentation(
            img_dir, _join(root, prefix['seg_map_path']),
            ds.get('img_suffix', defaults.get('img_suffix', '.jpg')),
            ds.get('seg_map_suffix', defaults.get('seg_map_suffix', '.png')),
            names, pipeline)
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
               logger: Optional[MMLogger] = None) -> List[CheckedDataset]:
    """Check the data of the given dataloaders before training.

    Reads each annotation file once and every image header once (not the
    pixels). Without ``drop_bad_data`` it raises DataCheckError listing the
    first :data:`SHOWN_PROBLEMS` problems with their file and id, and the
    count of each kind. With ``drop_bad_data`` it logs the same list and how
    many entries it drops, writes a cleaned copy of the annotations under
    ``<work_dir>/checked_data/`` and points ``cfg`` at it (the data set
    itself is not modified); an unreadable annotation file still stops.

    Args:
        cfg (Config): The config; datasets are changed in place on drop.
        splits (list[str]): Dataloaders to check: 'train', 'val', 'test'.
        drop_bad_data (bool): Drop bad entries instead of stopping.
        logger (MMLogger, optional): Where to log; default the current one.

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
                checked[key] = _check_leaf(cfg, ds)
            result = checked[key]
            if result is None:
                continue
            if first:
                results.append(result)
            if drop_bad_data and result.problems and \
                    result.cleaned is not None:
                out = _apply_cleaned(cfg, ds, split, index, result)
                if first:
                    logger.warning(format_problems(result.problems, False))
                logger.warning(
                    f'--drop-bad-data: dropped {result.dropped["images"]} '
                    f'images and {result.dropped["annotations"]} annotations '
                    f'of {result.source} ({len(result.problems)} problems); '
                    f'{split} reads {out}')
    problems = [p for r in results for p in r.problems
                if not drop_bad_data or r.cleaned is None]
    if problems:
        raise DataCheckError(
            format_problems(problems, can_drop=not drop_bad_data))
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
