"""Train a model from a config (mmdet / mmseg conventions).

    python tools/train.py configs/detection/maskrcnn_hiri_s_1x.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --amp --resume
    python tools/train.py CONFIG --drop-bad-data

Before building the Runner it checks the config (dataset paths, number of
classes, HIRI-ViT strides) and the data (annotations and image headers: see
"Reliability" in the README). The code is hiri_mm.openmmlab.runner_utils
(importing it registers HIRIViT, the hooks and the safe checkpoint loader).
"""
from hiri_mm.openmmlab.runner_utils import train as main

if __name__ == '__main__':
    main()
