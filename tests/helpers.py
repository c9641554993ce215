"""Constants, option builders and test doubles shared by the tests
(imported as ``from tests.helpers import ...``; fixtures live in
conftest.py)."""
import copy
import functools
import math
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from hiri_mm.models.backbones.hiri_vit import Pointwise


class MakesDir:
    """Unpickling this creates a directory: proof that a checkpoint ran
    code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path, ))


@functools.lru_cache(maxsize=None)
def _parsed(path):
    return Config.fromfile(path)


def config_copy(path):
    """``Config.fromfile(path)`` parsed once per test session (mmseg-based
    configs take about a second each); every call returns a copy that the
    caller may change."""
    return copy.deepcopy(_parsed(osp.abspath(path)))


DET_DEMO = 'configs/demo/maskrcnn_hiri_s_shapes.py'
SEG_DEMO = 'configs/demo/upernet_hiri_s_shapes.py'

# A tiny arch keeps CPU tests fast.
TINY_ARCH = dict(
    channels=(8, 16, 16, 32, 32),
    depths=(1, 1, 1, 1, 1),
    mlp_ratios=(2, 2, 2, 2, 2),
    num_heads=(1, 1, 1, 2, 2),
    downsample_ratios=(2, 2, 2, 2))

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


def _fan_out_std(conv):
    return math.sqrt(2. / (conv.kernel_size[0] * conv.kernel_size[1] *
                           conv.out_channels // conv.groups))


def assert_initialised_by_the_rule(model):
    """Convs fan-out normal; linears and the CFFN's 1x1 convs truncated
    normal 0.02; biases 0; norms weight 1, bias 0."""
    convs = [m for m in model.modules()
             if isinstance(m, nn.Conv2d) and not isinstance(m, Pointwise)]
    weights = torch.cat([(m.weight / _fan_out_std(m)).flatten()
                         for m in convs])
    # Every conv is fan-out normal: normalised weights pooled over all
    # convs have std 1; each big conv on its own too.
    assert weights.std().item() == pytest.approx(1., abs=0.01)
    for m in convs:
        if m.weight.numel() >= 4096:
            std = (m.weight.std() / _fan_out_std(m)).item()
            assert std == pytest.approx(1., abs=0.1), m
    for m in model.modules():
        # Linears, and the 1x1 convs that stand for them in the CFFN, are
        # truncated normal with std 0.02.
        if isinstance(m, (nn.Linear, Pointwise)):
            assert m.weight.std().item() == pytest.approx(.02, rel=.1)
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            assert not m.bias.any()
        if isinstance(m, (_BatchNorm, nn.LayerNorm)):
            assert (m.weight == 1).all() and not m.bias.any()


def assert_loads_strictly(source, target, tmp_path):
    """``source``'s weights, saved as a checkpoint, load into ``target``
    without a missing or unexpected key, every tensor equal."""
    from mmengine.runner import load_checkpoint
    checkpoint = str(tmp_path / 'source.pth')
    torch.save(dict(state_dict=source.state_dict()), checkpoint)
    load_checkpoint(target, checkpoint, map_location='cpu', strict=True)
    loaded = target.state_dict()
    assert all(torch.equal(loaded[k], v)
               for k, v in source.state_dict().items())
