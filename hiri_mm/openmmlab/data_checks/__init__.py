"""The data check that ``tools/train.py`` runs before training: the
annotation files and images themselves, each read once (every image
decoded): COCO-style JSON sets (mmdet, :mod:`.coco`) and folder-based
semantic segmentation sets (mmseg, ADE20K layout, :mod:`.segmentation`).
Other datasets (e.g. classification folders) are skipped.
:func:`check_data` (:mod:`.from_config`) runs the checks on a config's
datasets: bad data raises :class:`~hiri_mm.errors.DataCheckError` listing
each problem (:mod:`.problems`) with its file and entry, or is dropped on
request (category lists that disagree with the config cannot be dropped:
they stop).
"""
from .coco import check_coco
from .from_config import SHOWN_PROBLEMS, check_data, format_problems
from .problems import CheckedDataset, Problem
from .segmentation import LabelSpec, check_segmentation

__all__ = ['SHOWN_PROBLEMS', 'Problem', 'LabelSpec', 'CheckedDataset',
           'check_coco', 'check_segmentation', 'check_data',
           'format_problems']
