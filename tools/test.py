"""Evaluate a checkpoint on a config's test set, with the options of mmdet's
and mmseg's ``tools/test.py``.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show] [--show-dir DIR] [--wait-time SECONDS] [--tta]
        [--allow-partial-checkpoint] [--cfg-options KEY=VALUE ...]
        [--launcher none|pytorch|slurm|mpi]

The checkpoint's weights are checked against the model before evaluating:
missing, unexpected or mis-shaped keys, or NaN/Inf values, stop the run
(exit status 1) naming the first keys; ``--allow-partial-checkpoint``
evaluates what fits. Metrics are printed and written by the Runner to
``<work_dir>/<timestamp>/<timestamp>.json``. Each option does what the
config's own toolbox does with it:

- ``--show-dir DIR`` draws every test image with its predictions: for
  detection into ``<work_dir>/<timestamp>/DIR/`` (mmdet), for segmentation
  into ``DIR/vis_data/vis_image/`` (mmseg: the visualizer's ``save_dir``).
- ``--show`` opens a window per image for ``--wait-time`` seconds.
- ``--out`` dumps the predictions: detection to a ``.json`` file (boxes,
  scores, labels, RLE masks) or a ``.pkl`` (mmdet's ``DumpDetResults``, for
  mmdet's analysis tools; hiri_mm never reads pickles back); segmentation
  to a folder of predicted label maps as PNG (mmseg's
  ``IoUMetric(output_dir=...)``) or a ``.pkl``.
- ``--tta`` tests ``tta_model`` wrapped around the model on ``tta_pipeline``
  (both from the config).
"""
from typing import Optional, Sequence

from hiri_mm.errors import HiriMMError
from hiri_mm.openmmlab.cli import run_test


def main(argv: Optional[Sequence[str]] = None) -> dict:
    try:
        return run_test(argv)
    except HiriMMError as error:
        raise SystemExit(str(error)) from None


if __name__ == '__main__':
    main()
