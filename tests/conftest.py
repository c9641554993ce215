"""Shared fixtures: a tiny HIRI-ViT arch keeps CPU tests fast; the demo
configs are trained once per session on tiny generated data sets."""
import os.path as osp

import pytest
import torch

import hiri_mm  # noqa: F401  (registers HIRIViT, allows Runner checkpoints)
from hiri_mm.datasets import make_ade_shapes, make_coco_shapes

DET_DEMO = 'configs/demo/maskrcnn_hiri_s_shapes.py'
SEG_DEMO = 'configs/demo/upernet_hiri_s_shapes.py'

TINY_ARCH = dict(
    channels=(8, 16, 16, 32, 32),
    depths=(1, 1, 1, 1, 1),
    mlp_ratios=(2, 2, 2, 2, 2),
    num_heads=(1, 1, 1, 2, 2),
    downsample_ratios=(2, 2, 2, 2))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def tiny_arch():
    return dict(TINY_ARCH)


def det_options(data_root, epochs):
    """--cfg-options pointing the detection demo at a generated set."""
    root = f'{data_root}/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val2017.json',
        f'test_evaluator.ann_file={root}annotations/instances_val2017.json',
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        'train_dataloader.batch_size=2',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'param_scheduler.0.end=4',
    ]


def seg_options(data_root, iters):
    """--cfg-options pointing the segmentation demo at a generated set."""
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'train_dataloader.batch_size=2', 'param_scheduler.0.end=2',
        'param_scheduler.1.begin=2', f'param_scheduler.1.end={iters}',
    ]


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
