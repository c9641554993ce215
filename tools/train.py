"""Train a model from a config (mmdet / mmseg conventions).

    python tools/train.py configs/detection/maskrcnn_hiri_s_1x.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --amp --resume
    python tools/train.py CONFIG --drop-bad-data

Before building the Runner it checks the config (dataset paths, number of
classes, HIRI-ViT strides) and the data (annotations, every image decoded),
takes the work dir for this run alone, and picks where to start (see
"Reliability" in the README). The code is hiri_mm.openmmlab.cli.train;
a failed check ends the run with its message and exit status 1.
"""
from typing import Optional, Sequence

from mmengine.runner import Runner

from hiri_mm.errors import HiriMMError
from hiri_mm.openmmlab.cli import train


def main(argv: Optional[Sequence[str]] = None) -> Runner:
    try:
        return train(argv)
    except HiriMMError as error:
        raise SystemExit(str(error)) from None


if __name__ == '__main__':
    main()
