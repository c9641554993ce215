"""Test predictions written as JSON, a format that cannot run code when it
is read (unlike the pickle of mmdet's ``DumpDetResults``)."""
import json
from typing import Any, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from ..errors import UsageError
from ..fileutils import atomic_write

__all__ = ['DumpDetResultsJSON']


def _plain(value: Any) -> Any:
    """Tensors and arrays as lists, bytes (RLE counts) as text."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@METRICS.register_module()
class DumpDetResultsJSON(BaseMetric):
    """Write each test image's detections to one JSON file.

    An entry per image: ``img_id``, ``img_path``, ``ori_shape`` and
    ``pred_instances`` with ``bboxes`` (N, 4) as x1, y1, x2, y2 in pixels of
    the original image, ``scores`` (N,), ``labels`` (N,) and, for instance
    segmentation, ``masks`` as COCO run-length encodings (``size``,
    ``counts``).

    Args:
        out_file_path (str): The ``.json`` file to write (atomically).
        collect_device (str): Where results of all ranks are gathered.
    """

    def __init__(self, out_file_path: str, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_file_path.endswith('.json'):
            raise UsageError(f'DumpDetResultsJSON writes JSON: give a .json '
                             f'file, not {out_file_path}')
        self.out_file_path = out_file_path

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep the predictions of a batch (masks run-length encoded)."""
        from mmdet.structures.mask import encode_mask_results
        for sample in data_samples:
            pred = dict(sample['pred_instances'])
            if 'masks' in pred:
                pred['masks'] = encode_mask_results(
                    pred['masks'].detach().cpu().numpy())
            self.results.append(_plain(dict(
                img_id=sample.get('img_id'), img_path=sample.get('img_path'),
                ori_shape=sample.get('ori_shape'),
                pred_instances={k: pred[k] for k in
                                ('bboxes', 'scores', 'labels', 'masks')
                                if k in pred})))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Write ``results`` to :attr:`out_file_path`; no metrics."""
        atomic_write(self.out_file_path, json.dumps(results))
        return {}
