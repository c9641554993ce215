"""Top-k accuracy for mmengine's Evaluator."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS


@METRICS.register_module()
class TopKAccuracy(BaseMetric):
    """Top-k accuracy (%) of one set of logits in the model's predictions.

    Each rank scores its shard of the validation set; mmengine gathers the
    per-image results (dropping the sampler's padding) before
    :meth:`compute_metrics`. Results are ``top1``, ``top5``, ... under the
    metric's ``prefix``.

    Args:
        pred_key (str): Which logits of each prediction dict to score
            (``'student'`` or ``'teacher'`` for EMADistillClassifier).
        topk (sequence of int): The k values.
        prefix (str, optional): Prefix of the result keys, e.g.
            ``'teacher'`` gives ``teacher/top1``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering.
    """

    def __init__(self, pred_key: str = 'student',
                 topk: Sequence[int] = (1, 5), prefix: str = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not topk or any(not isinstance(k, int) or k < 1 for k in topk):
            raise ValueError(f'topk must be positive ints, got {topk!r}')
        self.pred_key = pred_key
        self.topk = tuple(topk)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store, per image, how many classes score above the true one
        (0 means a top-1 hit). ``data_samples`` are dicts with
        ``gt_label`` () and ``pred_key`` (num_classes, ) logits."""
        for sample in data_samples:
            if self.pred_key not in sample:
                raise KeyError(
                    f'TopKAccuracy(pred_key={self.pred_key!r}): the model '
                    f'predicts {sorted(sample)}; set pred_key to one of them')
            scores = sample[self.pred_key]
            label = int(sample['gt_label'])
            self.results.append(int((scores > scores[label]).sum()))

    def compute_metrics(self, results: List[int]) -> Dict[str, float]:
        ranks = np.asarray(results)
        return {f'top{k}': float(100. * (ranks < k).mean())
                for k in self.topk}
