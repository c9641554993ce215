"""The check of a folder-based semantic segmentation set (mmseg's layout,
ADE20K's among them): every image and label map decoded, their sizes, and
the label values against the classes and the ignore index."""
import functools
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..image_checks import (ImageInfo, applies_orientation, degenerate,
                            read_image, read_images, read_label_map,
                            resize_targets)
from .problems import CheckedDataset, Problem, outside_root

__all__ = ['LabelSpec', 'check_segmentation']


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
        if outside_root(img_dir, image_path) or outside_root(seg_dir, label_path):
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
