"""The data check that ``tools/train.py`` runs before training: the
annotation files and images themselves, each read once (every image
decoded): COCO-style JSON sets (mmdet) and folder-based semantic
segmentation sets (mmseg, ADE20K layout). Other datasets (e.g.
classification folders) are skipped. Bad data raises
:class:`~hiri_mm.errors.DataCheckError` listing each problem with its file
and entry, or is dropped on request (category lists that disagree with the
config cannot be dropped: they stop)."""
import functools
import inspect
import json
import math
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import (Any, Callable, Dict, List, Optional, Sequence, Set,
                    Tuple)

import numpy as np
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger

from ..errors import DataCheckError
from ..fileutils import atomic_write
from .config_checks import dataset_class, dataset_classes, leaf_datasets
from .image_checks import (TRANSPOSING_ORIENTATIONS, ImageInfo,
                           applies_orientation, degenerate, read_image,
                           read_images, read_label_map, resize_targets)

__all__ = ['SHOWN_PROBLEMS', 'Problem', 'LabelSpec', 'CheckedDataset',
           'check_coco', 'check_segmentation', 'check_data',
           'format_problems']

# Boxes may overhang the image by this much (rounding in real annotations).
BOX_TOLERANCE = 1.0
# How many problems the stop message lists.
SHOWN_PROBLEMS = 20
DROP_HELP = ('Fix or remove these entries, or run with --drop-bad-data to '
             'train without them (a cleaned copy of the annotations is '
             'written to the work dir; the data set is not modified).')
CATEGORY_HELP = ('mmdet numbers the labels in the order of the JSON '
                 'categories whose names are in metainfo.classes: give the '
                 'JSON one category per class, named and ordered as '
                 'metainfo.classes, or set metainfo.classes to the JSON\'s '
                 'names in the JSON\'s order.')
ORIENTATION_HELP = ('remove the EXIF orientation tag if the annotations '
                    'were drawn on the stored pixels (or set '
                    'LoadImageFromFile color_type=\'color_ignore_orientation\''
                    '), or rotate the pixels and fix width/height and boxes '
                    'in the JSON')


@dataclass
class Problem:
    """One bad entry of a data set.

    Args:
        file (str): The image, label map or annotation file at fault.
        where (str): Which entry, e.g. ``'annotation id 17 (image id 3)'``.
        kind (str): What is wrong, e.g. ``'zero-byte file'`` (for counts).
        detail (str): The values at fault, e.g. the box.
        droppable (bool): Whether ``--drop-bad-data`` can train without the
            entry; False for faults of the whole set (its categories).
    """
    file: str
    where: str
    kind: str
    detail: str = ''
    droppable: bool = True

    def __str__(self) -> str:
        where = f'{self.where}: ' if self.where else ''
        detail = f' ({self.detail})' if self.detail else ''
        return f'{self.file}: {where}{self.kind}{detail}'


def _join(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _outside(root: str, path: str) -> bool:
    """Whether ``path`` (normalised) leaves the folder ``root``."""
    relative = osp.relpath(osp.abspath(path), osp.abspath(root or '.'))
    return relative == os.pardir or relative.startswith(os.pardir + os.sep)


@dataclass
class LabelSpec:
    """How mmseg turns the values of a label map into training labels.

    Args:
        num_classes (int): Labels ``0 .. num_classes - 1`` are classes.
        ignore_index (int): The label the loss ignores (the decode head's
            ``ignore_index``).
        reduce_zero_label (bool): Value 0 becomes ``255`` and every other
            value ``v`` becomes ``v - 1`` (254 becomes 255 again).
        label_map (dict, optional): Value to label, applied after
            ``reduce_zero_label`` (mmseg builds it when the config's classes
            are a subset of the dataset class's).
    """
    num_classes: int
    ignore_index: int = 255
    reduce_zero_label: bool = False
    label_map: Optional[Dict[int, int]] = None

    def labels(self, values: np.ndarray) -> np.ndarray:
        """The training labels of label-map ``values`` (uint8)."""
        labels = values.astype(np.int64)
        if self.reduce_zero_label:
            labels = np.where(labels == 0, 255, labels - 1)
            labels[labels == 254] = 255
        if self.label_map:
            labels = np.array([self.label_map.get(v, v) for v in labels],
                              np.int64)
        return labels

    def bad_values(self, values: np.ndarray) -> np.ndarray:
        """The label-map values that are neither a class nor ignored (the
        loss fails on them: ``IndexError: Target ... is out of bounds``)."""
        labels = self.labels(values)
        return values[(labels >= self.num_classes)
                      & (labels != self.ignore_index)]

    def __str__(self) -> str:
        steps = ''.join(
            f', after {step}' for step, used in
            (('reduce_zero_label', self.reduce_zero_label),
             ('the label_map of metainfo.classes', self.label_map)) if used)
        return (f'labels must be 0..{self.num_classes - 1} or the ignore '
                f'index {self.ignore_index}{steps}')


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

    @property
    def droppable(self) -> bool:
        """Whether training can go on without the bad entries."""
        return self.cleaned is not None and all(p.droppable
                                                for p in self.problems)


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


# ---------------------------------------------------------------- fields
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    """COCO ids are ints; pycocotools and mmdet also index by strings."""
    return _is_int(value) or isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_box(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 4 and all(
        map(_is_number, value))


# (key, what it must be, test) of the fields that mmdet's CocoDataset reads.
Fields = Sequence[Tuple[str, str, Callable[[Any], bool]]]
IMAGE_FIELDS: Fields = (
    ('id', 'an int or a string', _is_id),
    ('file_name', 'a non-empty string', lambda v: isinstance(v, str) and v),
    ('width', 'a positive int', lambda v: _is_int(v) and v > 0),
    ('height', 'a positive int', lambda v: _is_int(v) and v > 0))
ANNOTATION_FIELDS: Fields = (
    ('id', 'an int or a string', _is_id),
    ('image_id', 'an int or a string', _is_id),
    ('category_id', 'an int', _is_int),
    ('bbox', '[x, y, width, height] numbers', _is_box),
    ('area', 'a number', _is_number))
CATEGORY_FIELDS: Fields = (
    ('id', 'an int', _is_int),
    ('name', 'a string', lambda v: isinstance(v, str)))


def _wrong_field(entry: Any, fields: Fields) -> Optional[str]:
    """What is wrong with the first field of ``entry`` of the wrong type,
    e.g. ``'"file_name" is 123, expected a non-empty string'``."""
    if not isinstance(entry, dict):
        return f'{entry!r} is not an object'
    for key, expected, valid in fields:
        if not valid(entry.get(key)):
            value = f'is {entry[key]!r}' if key in entry else 'is missing'
            return f'"{key}" {value}, expected {expected}'
    return None


# ---------------------------------------------------------------- COCO
def _category_problem(ann_file: str, categories: List[Any],
                      classes: Sequence[str]) -> Optional[Problem]:
    """The JSON categories checked against the config's classes the way
    mmdet's CocoDataset maps them: ``cat_ids`` are the ids of the
    categories whose name is a class, in the JSON's order, and the label of
    a category is its index there. Duplicates, classes without a category
    and another order all give classes the wrong labels."""
    for i, category in enumerate(categories):
        wrong = _wrong_field(category, CATEGORY_FIELDS)
        if wrong:
            return Problem(ann_file, f'categories[{i}]', 'malformed category',
                           wrong, droppable=False)
    ids = Counter(c['id'] for c in categories)
    listed = [c['name'] for c in categories if c['name'] in classes]
    findings = [f'category id {i} is listed {n} times'
                for i, n in ids.items() if n > 1]
    findings += [
        f'{name!r} is {n} categories: each gets its own label, so the labels '
        'of later classes shift by one and the last class becomes '
        'background' for name, n in Counter(listed).items() if n > 1]
    missing = [name for name in classes if name not in listed]
    unused = [c['name'] for c in categories if c['name'] not in classes]
    if missing:
        findings.append(
            f'classes {missing} have no category: nothing is learnt for '
            'them, and later classes get the wrong labels' +
            (f' (categories {unused} are no class: their annotations are '
             'dropped)' if unused else ''))
    if not findings and listed != list(classes):
        findings.append('the categories are in another order than the '
                        'classes: labels and class names are permuted')
    if not findings:
        return None
    json_names = [f'{c["id"]}: {c["name"]!r}' for c in categories]
    return Problem(
        ann_file, 'categories', 'categories disagree with metainfo.classes',
        '; '.join(findings) + f'. metainfo.classes: {list(classes)}; JSON '
        f'categories (id: name): [{", ".join(json_names)}]. {CATEGORY_HELP}',
        droppable=False)


def _image_problem(img: dict, info: ImageInfo,
                   targets: Sequence[Tuple[float, float]],
                   source: str) -> Optional[Tuple[str, str]]:
    """(kind, detail) of what is wrong with a decoded COCO image, or
    None."""
    if info.error:
        return info.error
    reason = degenerate(info.size, targets)
    if reason:
        return 'degenerate image', reason
    declared = (img['width'], img['height'])
    if declared == info.size:
        return None
    loaded = f'{info.size[0]}x{info.size[1]}'
    if info.orientation in TRANSPOSING_ORIENTATIONS and \
            declared == info.size[::-1]:
        return 'rotated by its EXIF orientation', (
            f'orientation {info.orientation}: LoadImageFromFile loads it '
            f'turned, as {loaded}, but {source} says {declared[0]}x'
            f'{declared[1]} (the stored pixels), so the boxes miss the '
            f'loaded image; {ORIENTATION_HELP}')
    return 'size mismatch', (f'{declared[0]}x{declared[1]} in {source}, '
                             f'{loaded} loaded from the file')


def _annotation_problem(ann: dict, img: dict,
                        categories: Set[int]) -> Optional[Tuple[str, str]]:
    """(kind, detail) of what is wrong with a COCO annotation whose fields
    have the right types, or None."""
    box = ann['bbox']
    if ann['category_id'] not in categories:
        return 'unknown category id', (
            f'{ann["category_id"]!r}; categories are '
            f'{sorted(categories)[:10]}')
    if not all(map(math.isfinite, box)):
        return 'non-finite box', f'{box}: mmdet would drop it unnoticed'
    if box[2] <= 0 or box[3] <= 0:
        return 'invalid box', f'{box}: non-positive width/height'
    if (box[0] < -BOX_TOLERANCE or box[1] < -BOX_TOLERANCE
            or box[0] + box[2] > img['width'] + BOX_TOLERANCE
            or box[1] + box[3] > img['height'] + BOX_TOLERANCE):
        return 'invalid box', (f'{box}: outside the {img["width"]}x'
                               f'{img["height"]} image')
    return None


def _image_entries(ann_file: str, entries: List[Any], img_dir: str,
                   root: str) -> Tuple[Dict[Any, dict], Set[Any],
                                       List[Problem]]:
    """The image entries by id, the ids of bad ones and their problems
    (wrong field types, duplicate ids, file names outside ``root``)."""
    images: Dict[Any, dict] = {}
    bad: Set[Any] = set()
    problems = []
    for i, img in enumerate(entries):
        img_id = img.get('id') if isinstance(img, dict) else None
        if not _is_id(img_id):
            problems.append(Problem(ann_file, f'images[{i}]',
                                    'malformed image entry',
                                    _wrong_field(img, IMAGE_FIELDS)))
            continue
        if img_id in images:
            problems.append(Problem(ann_file, f'image id {img_id}',
                                    'duplicate image id'))
            bad.add(img_id)
            continue
        images[img_id] = img
        wrong = _wrong_field(img, IMAGE_FIELDS)
        if wrong:
            error = ('malformed image entry', wrong)
        elif osp.isabs(img['file_name']) or _outside(
                root, osp.join(img_dir, img['file_name'])):
            error = ('file outside the data root',
                     f'"file_name" {img["file_name"]!r} leaves '
                     f'{root or "."}: give a path relative to '
                     'data_prefix.img inside it')
        else:
            continue
        problems.append(Problem(ann_file, f'image id {img_id}', *error))
        bad.add(img_id)
    return images, bad, problems


def check_coco(ann_file: str, img_dir: str,
               pipeline: Sequence[dict] = (),
               classes: Sequence[str] = (),
               root: Optional[str] = None,
               decode: bool = True) -> CheckedDataset:
    """Check a COCO-format annotation file and the images it names.

    Args:
        ann_file (str): The JSON file.
        img_dir (str): The folder that ``file_name`` is relative to.
        pipeline (list[dict]): The dataset's pipeline, for the resize limit
            and whether images are turned by their EXIF orientation.
        classes (list[str]): The dataset's class names (``metainfo``); the
            categories are checked against them (empty: not checked).
        root (str, optional): The folder no image may leave (the data
            root); default ``img_dir``.
        decode (bool): Decode every image (finds truncated files); False
            reads the headers only.

    Returns:
        CheckedDataset: ``cleaned`` is the COCO dict without the bad images
        (and their annotations) and the bad annotations; None when the file
        cannot be read or its categories disagree with ``classes``.
    """
    data, problems = _load_json(ann_file)
    if data is None:
        return CheckedDataset(ann_file, problems, Counter(), None)
    category = _category_problem(ann_file, data['categories'], classes) \
        if classes else None
    if category:
        problems.append(category)
    categories = {c.get('id') for c in data['categories']
                  if isinstance(c, dict)}
    images, bad_images, found = _image_entries(
        ann_file, data['images'], img_dir, img_dir if root is None else root)
    problems += found

    good = [(img_id, img) for img_id, img in images.items()
            if img_id not in bad_images]
    paths = [osp.join(img_dir, img['file_name']) for _, img in good]
    read = functools.partial(read_image, orient=applies_orientation(pipeline),
                             decode=decode)
    targets = resize_targets(pipeline)
    source = osp.basename(ann_file)
    for (img_id, img), path, info in zip(good, paths,
                                         read_images(paths, read)):
        error = _image_problem(img, info, targets, source)
        if error:
            problems.append(Problem(path, f'image id {img_id}', *error))
            bad_images.add(img_id)

    kept, ann_ids = [], set()
    for i, ann in enumerate(data['annotations']):
        img_id = ann.get('image_id') if isinstance(ann, dict) else None
        wrong = _wrong_field(ann, ANNOTATION_FIELDS)
        if wrong:
            where = f'annotations[{i}]'
            if isinstance(ann, dict) and _is_id(ann.get('id')):
                where = f'annotation id {ann["id"]} (image id {img_id!r})'
            error = ('malformed annotation', wrong)
        else:
            where = f'annotation id {ann["id"]} (image id {img_id})'
            if ann['id'] in ann_ids:
                error = ('duplicate annotation id', '')
            elif img_id not in images:
                error = ('unknown image id', f'{img_id!r}')
            elif img_id in bad_images:  # dropped with its image
                error = None
            else:
                error = _annotation_problem(ann, images[img_id], categories)
            ann_ids.add(ann['id'])
        if error:
            problems.append(Problem(ann_file, where, *error))
        if not error and img_id not in bad_images:
            kept.append(ann)
    kept_images = [img for img_id, img in good if img_id not in bad_images]
    dropped = Counter(images=len(data['images']) - len(kept_images),
                      annotations=len(data['annotations']) - len(kept))
    cleaned = None if category else dict(data, annotations=kept,
                                         images=kept_images)
    return CheckedDataset(ann_file, problems, dropped, cleaned,
                          len(data['images']), len(data['annotations']))


# ---------------------------------------------------------------- segmentation
def _label_problem(name: str, label_path: str, image: ImageInfo,
                   label: ImageInfo,
                   labels: Optional[LabelSpec]) -> Optional[Problem]:
    """A label map whose size differs from its image's or whose values are
    not labels, or None."""
    if image.size != label.size:
        return Problem(label_path, 'label map', 'size mismatch',
                       f'{label.size[0]}x{label.size[1]}, image {name} '
                       f'loads as {image.size[0]}x{image.size[1]}')
    bad = labels.bad_values(label.values) if labels else []
    if len(bad):
        return Problem(label_path, 'label map', 'label values out of range',
                       f'values {bad.tolist()}: {labels}')
    return None


def check_segmentation(img_dir: str, seg_dir: str, img_suffix: str,
                       seg_map_suffix: str, names: Optional[List[str]] = None,
                       pipeline: Sequence[dict] = (),
                       labels: Optional[LabelSpec] = None,
                       decode: bool = True) -> CheckedDataset:
    """Check a folder-based semantic segmentation set (mmseg's layout).

    Args:
        img_dir (str): The image folder.
        seg_dir (str): The label-map folder.
        img_suffix (str): Image file suffix, e.g. ``'.jpg'``.
        seg_map_suffix (str): Label map suffix, e.g. ``'.png'``.
        names (list[str], optional): Sample names (paths relative to
            ``img_dir`` without suffix) from an ``ann_file``; default: every
            image under ``img_dir``, as mmseg lists them.
        pipeline (list[dict]): The dataset's pipeline, for the resize limit
            and whether images are turned by their EXIF orientation.
        labels (LabelSpec, optional): The valid label values; None: values
            not checked.
        decode (bool): Decode every image (finds truncated files); False
            reads the image headers only (label maps are always decoded).

    Returns:
        CheckedDataset: ``cleaned`` is the list of good sample names.
    """
    if names is None:
        names = sorted(
            osp.relpath(osp.join(folder, f), img_dir)[:-len(img_suffix)]
            for folder, _, files in os.walk(img_dir) for f in files
            if f.endswith(img_suffix))
    image_paths = [osp.join(img_dir, n + img_suffix) for n in names]
    label_paths = [osp.join(seg_dir, n + seg_map_suffix) for n in names]
    read = functools.partial(read_image, orient=applies_orientation(pipeline),
                             decode=decode)
    images = read_images(image_paths, read)
    label_maps = read_images(label_paths, read_label_map)
    targets = resize_targets(pipeline)
    problems, cleaned = [], []
    for name, image_path, label_path, image, label in zip(
            names, image_paths, label_paths, images, label_maps):
        found = [Problem(path, what, *info.error)
                 for path, what, info in ((image_path, 'image', image),
                                          (label_path, 'label map', label))
                 if info.error]
        if _outside(img_dir, image_path) or _outside(seg_dir, label_path):
            found.append(Problem(image_path, 'image',
                                 'file outside the data root',
                                 f'sample name {name!r} leaves {img_dir}'))
        if not found and degenerate(image.size, targets):
            found.append(Problem(image_path, 'image', 'degenerate image',
                                 degenerate(image.size, targets)))
        if not found:
            found = [p for p in [_label_problem(name + img_suffix,
                                                label_path, image, label,
                                                labels)] if p]
        problems += found
        if not found:
            cleaned.append(name)
    return CheckedDataset(img_dir, problems,
                          Counter(images=len(names) - len(cleaned)), cleaned,
                          len(names))


# ---------------------------------------------------------------- configs
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
        img_dir = _join(root, prefix.get('img', ''))
        return check_coco(_join(root, ann_file), img_dir, pipeline,
                          dataset_classes(cfg, ds), root or img_dir, decode)
    if 'seg_map_path' in prefix:
        dataset_cls = dataset_class(cfg, ds)
        defaults = _defaults(dataset_cls)
        img_dir = _join(root, prefix.get('img_path', ''))
        names = None
        if ann_file and osp.isfile(_join(root, ann_file)):
            with open(_join(root, ann_file)) as f:
                names = [line.strip() for line in f if line.strip()]
        return check_segmentation(
            img_dir, _join(root, prefix['seg_map_path']),
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
