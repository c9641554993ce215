"""Shared fixtures: the demo configs are trained once per session on tiny
generated data sets."""
import os.path as osp

import pytest
import torch

import hiri_mm  # noqa: F401  (registers HIRIViT, allows Runner checkpoints)
from hiri_mm.datasets import make_ade_shapes, make_coco_shapes
from tests.helpers import (DET_DEMO, SEG_DEMO, TINY_ARCH, det_options,
                           seg_options)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def tiny_arch():
    return dict(TINY_ARCH)


@pytest.fixture(scope='session')
def coco_shapes(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('coco_shapes'))
    make_coco_shapes(root, num_train=4, num_val=2, size=128, seed=1)
    return root


@pytest.fixture(scope='session')
def det_trained(coco_shapes, tmp_path_factory):
    """Work dir of one epoch of tools/train.py on the detection demo."""
    from tools.train import main
    work_dir = str(tmp_path_factory.mktemp('det_work'))
    main([DET_DEMO, '--work-dir', work_dir, '--cfg-options',
          *det_options(coco_shapes, 1)])
    return work_dir


@pytest.fixture(scope='session')
def ade_shapes(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ade_shapes'))
    make_ade_shapes(root, num_train=4, num_val=2, size=96, seed=2)
    return root


@pytest.fixture(scope='session')
def seg_trained(ade_shapes, tmp_path_factory):
    """Checkpoint of 4 iterations of tools/train.py on the seg demo."""
    from tools.train import main
    work_dir = str(tmp_path_factory.mktemp('seg_work'))
    main([SEG_DEMO, '--work-dir', work_dir, '--cfg-options',
          *seg_options(ade_shapes, 4)])
    return osp.join(work_dir, 'iter_4.pth')
