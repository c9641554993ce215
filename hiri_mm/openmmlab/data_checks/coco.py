"""The check of a COCO-style set (mmdet's ``CocoDataset``): the JSON's
fields, its categories against the config's classes, every image (decoded,
as the pipeline loads it) and every box."""
import functools
import math
import os.path as osp
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..image_checks import (TRANSPOSING_ORIENTATIONS, ImageInfo,
                            applies_orientation, degenerate, read_image,
                            read_images, resize_targets)
from .problems import CheckedDataset, Problem, load_coco_json, outside_root

__all__ = ['check_coco']

# Boxes may overhang the image by this much (rounding in real annotations).
BOX_TOLERANCE = 1.0
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
        elif osp.isabs(img['file_name']) or outside_root(
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
    data, problems = load_coco_json(ann_file)
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
