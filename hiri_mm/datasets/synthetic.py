"""Small synthetic datasets in the COCO and ADE20K layouts.

They let the demo and the tests train, evaluate and run inference without
downloading anything. Each image holds a few filled shapes (circle, square,
triangle), each class with its own colour range, on a textured background.

COCO layout (instance masks as polygons)::

    root/annotations/instances_{train,val}2017.json
    root/{train,val}2017/*.png

ADE20K layout: label 1 is the background and 2..4 the shape classes; 0
(ADE20K's "other", ignored with ``reduce_zero_label``) is unused, so mmseg
reads the classes of :data:`SEG_CLASSES`::

    root/images/{training,validation}/*.png
    root/annotations/{training,validation}/*.png
"""
import glob
import json
import os
import os.path as osp
import shutil
import sys
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..errors import DatasetInUseError, IncompleteDatasetError
from ..fileutils import FileLock, pid_alive

__all__ = ['SHAPE_CLASSES', 'SEG_CLASSES', 'MANIFEST', 'make_coco_shapes',
           'make_ade_shapes', 'make_shape_classification', 'read_manifest']

SHAPE_CLASSES = ('circle', 'square', 'triangle')
# Bump when the generated data change: sets of another version are rebuilt.
GENERATOR_VERSION = 1
# Written last into a generated set: its kind, version and parameters.
MANIFEST = 'hiri_mm_manifest.json'
SEG_CLASSES = ('background', ) + SHAPE_CLASSES
# Mean BGR colour of each class; every instance varies around it.
_COLOURS = ((40, 40, 220), (40, 200, 40), (220, 120, 30))


def _polygon(kind: str, cx: float, cy: float, r: float,
             angle: float) -> np.ndarray:
    """Corners of a shape of radius ``r`` centred at (cx, cy): (N, 2)."""
    sides = {'circle': 32, 'square': 4, 'triangle': 3}[kind]
    t = angle + np.arange(sides) * 2 * np.pi / sides
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)


def _draw_image(rng: np.random.Generator, size: int, labels: List[int],
                radius: Tuple[float, float] = (0.08, 0.2)
                ) -> Tuple[np.ndarray, List[Tuple[int, np.ndarray]]]:
    """An image with one shape per entry of ``labels`` (radius drawn from
    ``radius`` x size) and its ``(class index, visible mask)`` instances;
    later shapes occlude earlier ones."""
    img = rng.integers(90, 170, 3).astype(np.float32) + \
        rng.normal(0, 12, (size, size, 3)).astype(np.float32)
    img = cv2.GaussianBlur(img, (5, 5), 0)
    instances = []
    for label in labels:
        r = rng.uniform(*radius) * size
        cx, cy = rng.uniform(r, size - r, 2)
        pts = _polygon(SHAPE_CLASSES[int(label)], cx, cy, r,
                       rng.uniform(0, 2 * np.pi))
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
        colour = np.clip(np.array(_COLOURS[label]) + rng.normal(0, 15, 3),
                         0, 255)
        img[mask > 0] = colour
        for _, earlier in instances:
            earlier[mask > 0] = 0
        instances.append((int(label), mask))
    img = np.clip(img, 0, 255).astype(np.uint8)
    return img, [(c, m) for c, m in instances if m.sum() > 16]


def _random_labels(rng: np.random.Generator, max_objects: int) -> List[int]:
    return rng.integers(len(SHAPE_CLASSES),
                        size=rng.integers(1, max_objects + 1)).tolist()


def _mask_to_coco(mask: np.ndarray) -> Dict:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    polygons = [c.reshape(-1).astype(float).tolist() for c in contours
                if len(c) >= 3]
    x, y, w, h = cv2.boundingRect(mask)
    return dict(segmentation=polygons, bbox=[x, y, w, h],
                area=float(mask.sum()), iscrowd=0)


def _track(items: Sequence[int]) -> Iterable[int]:
    """``items`` with mmengine's progress bar when stdout is a terminal."""
    if not sys.stdout.isatty():
        return items
    from mmengine.utils import track_iter_progress
    return track_iter_progress(items)


def read_manifest(root: str) -> Optional[dict]:
    """The manifest of a generated set, or None (missing or unreadable)."""
    try:
        with open(osp.join(root, MANIFEST)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _describe(manifest: Optional[dict]) -> str:
    if manifest is None:
        return 'no complete set'
    return (f"{manifest['num_train']} train / {manifest['num_val']} val "
            f"images of {manifest['size']} px")


def _remove_stale_builds(root: str) -> None:
    """Delete the build and replaced folders (``<root>.partial-<pid>``,
    ``<root>.old-<pid>``) that killed generators left next to root."""
    for folder in glob.glob(glob.escape(root) + '.partial-*') + \
            glob.glob(glob.escape(root) + '.old-*'):
        pid = folder.rsplit('-', 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


# root -> this process's lock on ``<root>.lock`` (see _build).
_LOCKS: Dict[str, FileLock] = {}


def _lock_file(root: str) -> FileLock:
    if root not in _LOCKS:
        _LOCKS[root] = FileLock(f'{root}.lock')
    return _LOCKS[root]


def _build(root: str, manifest: dict,
           write: Callable[[str], None]) -> bool:
    """Make ``root`` hold the set that ``manifest`` describes, and keep it
    there while this process runs.

    A set with the same manifest is reused. Otherwise ``write`` fills a
    build folder next to ``root`` (``<root>.partial-<pid>``), the manifest
    is written last, and the folder is renamed into place, so ``root`` is
    never a half-made set. A generated set with another manifest (other
    counts, size, seed or generator version) is replaced, but only when no
    other process uses it: every process that called this holds a shared
    :class:`~hiri_mm.fileutils.FileLock` on ``<root>.lock`` until it exits,
    and replacing takes it exclusively. Returns whether it generated.

    Raises:
        IncompleteDatasetError: ``root`` is a non-empty folder without a
            manifest (half-made by an older version, or not generated).
        DatasetInUseError: ``root`` holds another set that a running
            process uses.
    """
    root = osp.abspath(root)
    lock = _lock_file(root)
    lock.acquire(shared=True)  # waits while another process builds
    existing = read_manifest(root)
    if existing == manifest:
        return False
    if existing is None and osp.isdir(root) and os.listdir(root):
        raise IncompleteDatasetError(
            f'{root} exists but has no {MANIFEST}: it is not a complete '
            f'generated data set (perhaps one interrupted by an older '
            f'version). Delete it to generate it again: rm -r {root}')
    if not lock.acquire(blocking=False):
        # Others hold it: a generator (wait for its set, perhaps ours) or
        # runs that use the set there now.
        lock.acquire(shared=True)
        existing = read_manifest(root)
        if existing == manifest:
            return False
        same = '' if existing is None else (
            f', or ask for the same set (tools/demo.py --num-train '
            f'{existing["num_train"]} --num-val {existing["num_val"]})')
        raise DatasetInUseError(
            f'{root} holds {_describe(existing)}, which another running '
            f'process uses; this one asks for {_describe(manifest)}. Let '
            f'the other run finish{same}.') from None
    try:
        _replace(root, existing, manifest, write)
    finally:
        lock.acquire(shared=True)
    return True


def _replace(root: str, existing: Optional[dict], manifest: dict,
             write: Callable[[str], None]) -> None:
    """Write the set into a build folder and rename it into ``root``
    (called with ``<root>.lock`` held exclusively)."""
    _remove_stale_builds(root)
    build = f'{root}.partial-{os.getpid()}'
    shutil.rmtree(build, ignore_errors=True)
    try:
        write(build)
        with open(osp.join(build, MANIFEST), 'w') as f:
            json.dump(manifest, f, indent=2)
        old = f'{root}.old-{os.getpid()}'
        if existing is not None:
            os.rename(root, old)
        os.replace(build, root)  # also over an empty folder
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def make_coco_shapes(root: str, num_train: int = 64, num_val: int = 16,
                     size: int = 192, max_objects: int = 3,
                     seed: int = 0) -> Dict[str, str]:
    """Generate (or reuse, see :func:`_build`) a COCO-format instance
    segmentation set under ``root``; return its annotation files by split.
    """
    manifest = dict(kind='coco_shapes', version=GENERATOR_VERSION,
                    num_train=num_train, num_val=num_val, size=size,
                    max_objects=max_objects, seed=seed)
    splits = (('train2017', num_train), ('val2017', num_val))

    def write(folder: str) -> None:
        rng = np.random.default_rng(seed)
        categories = [dict(id=i + 1, name=n)
                      for i, n in enumerate(SHAPE_CLASSES)]
        os.makedirs(osp.join(folder, 'annotations'))
        for split, count in splits:
            os.makedirs(osp.join(folder, split))
            images, annotations = [], []
            for i in _track(range(count)):
                img, instances = _draw_image(
                    rng, size, _random_labels(rng, max_objects))
                name = f'{i:06d}.png'
                cv2.imwrite(osp.join(folder, split, name), img)
                images.append(dict(id=i + 1, file_name=name, height=size,
                                   width=size))
                for label, mask in instances:
                    annotations.append(dict(
                        id=len(annotations) + 1, image_id=i + 1,
                        category_id=label + 1, **_mask_to_coco(mask)))
            with open(osp.join(folder, 'annotations',
                               f'instances_{split}.json'), 'w') as f:
                json.dump(dict(images=images, annotations=annotations,
                               categories=categories), f)

    _build(root, manifest, write)
    return {split: osp.join(root, 'annotations', f'instances_{split}.json')
            for split, _ in splits}


def make_ade_shapes(root: str, num_train: int = 64, num_val: int = 16,
                    size: int = 192, max_objects: int = 3,
                    seed: int = 0) -> None:
    """Generate (or reuse, see :func:`_build`) a semantic segmentation set
    in ADE20K's folder layout under ``root``."""
    manifest = dict(kind='ade_shapes', version=GENERATOR_VERSION,
                    num_train=num_train, num_val=num_val, size=size,
                    max_objects=max_objects, seed=seed)

    def write(folder: str) -> None:
        rng = np.random.default_rng(seed)
        for split, count in (('training', num_train),
                             ('validation', num_val)):
            img_dir = osp.join(folder, 'images', split)
            ann_dir = osp.join(folder, 'annotations', split)
            os.makedirs(img_dir)
            os.makedirs(ann_dir)
            for i in _track(range(count)):
                img, instances = _draw_image(
                    rng, size, _random_labels(rng, max_objects))
                label_map = np.ones((size, size), np.uint8)
                for label, mask in instances:
                    label_map[mask > 0] = label + 2
                cv2.imwrite(osp.join(img_dir, f'{i:06d}.png'), img)
                cv2.imwrite(osp.join(ann_dir, f'{i:06d}.png'), label_map)

    _build(root, manifest, write)


def make_shape_classification(root: str, num_train: int = 32,
                              num_val: int = 16, size: int = 64,
                              seed: int = 0) -> None:
    """Generate (or reuse, see :func:`_build`) ``root/{train,val}/<class>/
    *.png``, one shape per image and ``num_train`` / ``num_val`` images per
    class (torchvision ImageFolder)."""
    manifest = dict(kind='shape_classification', version=GENERATOR_VERSION,
                    num_train=num_train, num_val=num_val, size=size,
                    seed=seed)

    def write(folder: str) -> None:
        rng = np.random.default_rng(seed)
        for split, count in (('train', num_train), ('val', num_val)):
            for label, name in enumerate(SHAPE_CLASSES):
                path = osp.join(folder, split, name)
                os.makedirs(path)
                for i in _track(range(count)):
                    img, _ = _draw_image(rng, size, [label],
                                         radius=(0.25, 0.4))
                    cv2.imwrite(osp.join(path, f'{i:05d}.png'), img)

    _build(root, manifest, write)
