"""What the data check reports: one :class:`Problem` per bad entry, one
:class:`CheckedDataset` per annotation file or label folder, and the helpers
that read what every check needs (paths under a data root, a COCO JSON
file)."""
import json
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

__all__ = ['Problem', 'CheckedDataset', 'join_root', 'outside_root',
           'load_coco_json']


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


def join_root(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def outside_root(root: str, path: str) -> bool:
    """Whether ``path`` (normalised) leaves the folder ``root``."""
    relative = osp.relpath(osp.abspath(path), osp.abspath(root or '.'))
    return relative == os.pardir or relative.startswith(os.pardir + os.sep)


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


def load_coco_json(path: str) -> Tuple[Optional[dict], List[Problem]]:
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
