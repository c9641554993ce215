"""Every detection config builds, trains a step and predicts on CPU, and
every stride in it agrees with the backbone."""
import glob
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import init_default_scope

from hiri_mm.openmmlab.config_checks import stride_problems

CONFIGS = sorted(glob.glob('configs/detection/*_hiri_*.py'))
DEMO = 'configs/demo/maskrcnn_hiri_s_shapes.py'


def test_all_paper_configs_are_present():
    names = {c.split('/')[-1][:-3] for c in CONFIGS}
    assert names == {
        'retinanet_hiri_s_1x', 'retinanet_hiri_b_1x', 'maskrcnn_hiri_s_1x',
        'maskrcnn_hiri_b_1x', 'maskrcnn_hiri_s_3x',
        'cascade_maskrcnn_hiri_s_3x', 'atss_hiri_s_3x', 'gfl_hiri_s_3x',
        'sparse_rcnn_hiri_s_3x'
    }


@pytest.mark.parametrize('path', CONFIGS + [DEMO])
def test_strides_agree_with_the_backbone(path):
    assert stride_problems(Config.fromfile(path)) == []


def test_stride_check_catches_an_undoubled_stride():
    cfg = Config.fromfile('configs/detection/maskrcnn_hiri_s_1x.py')
    cfg.model.rpn_head.anchor_generator.strides = [4, 8, 16, 32, 64]
    cfg.model.roi_head.mask_roi_extractor.featmap_strides = [4, 8, 16, 32]
    cfg.model.data_preprocessor.pad_size_divisor = 32
    cfg.model.neck.in_channels = [32, 64, 128, 320]
    problems = stride_problems(cfg)
    assert len(problems) == 5, problems
    assert any('rpn_head.anchor_generator.strides' in p for p in problems)
    assert any('mask_roi_extractor.finest_scale' in p or
               'mask_roi_extractor.featmap_strides' in p for p in problems)
    assert any('pad_size_divisor' in p for p in problems)
    assert any('neck.in_channels' in p for p in problems)


@pytest.mark.parametrize('path', CONFIGS)
def test_paper_settings(path):
    cfg = Config.fromfile(path)
    assert cfg.data_root == 'data/coco/'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.train_dataloader.batch_size * 8 == 16
    epochs = 36 if path.endswith('_3x.py') else 12
    assert cfg.train_cfg.max_epochs == epochs
    resize = [t for t in cfg.test_dataloader.dataset.pipeline
              if t.type == 'Resize'][0]
    assert tuple(resize.scale) == (2666, 1600)


def _build(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


@pytest.mark.parametrize('path', CONFIGS)
def test_config_trains_a_step_and_predicts(path):
    cfg, model = _build(path)
    with_mask = 'mask' in path
    model.train()
    packed = demo_mm_inputs(2, [[3, 128, 160], [3, 96, 128]], num_items=[2, 3],
                            num_classes=80, with_mask=with_mask)
    data = model.data_preprocessor(packed, True)
    pad = cfg.model.data_preprocessor.pad_size_divisor
    assert data['inputs'].shape[-1] % pad == 0
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert math.isfinite(total.item())
    total.backward()
    unused = [n for n, p in model.backbone.named_parameters()
              if p.grad is None]
    assert not unused
    model.eval()
    with torch.no_grad():
        results = model.test_step(packed)
    assert len(results) == 2 and 'pred_instances' in results[0]
    if with_mask:
        assert 'masks' in results[0].pred_instances
