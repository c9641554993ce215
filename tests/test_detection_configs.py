"""Every detection config builds, trains a step and predicts on CPU, and
every stride in it agrees with the backbone."""
import glob
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.hub import get_config
from mmengine.registry import init_default_scope

from hiri_mm.openmmlab.config_checks import stride_problems
from tests.helpers import assert_initialised_by_the_rule, config_copy

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
    assert stride_problems(config_copy(path)) == []


def test_stride_check_catches_an_undoubled_stride():
    cfg = config_copy('configs/detection/maskrcnn_hiri_s_1x.py')
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
    cfg = config_copy(path)
    assert cfg.data_root == 'data/coco/'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.train_dataloader.batch_size * 8 == 16
    epochs = 36 if path.endswith('_3x.py') else 12
    assert cfg.train_cfg.max_epochs == epochs
    resize = [t for t in cfg.test_dataloader.dataset.pipeline
              if t.type == 'Resize'][0]
    assert tuple(resize.scale) == (2666, 1600)


def _short_sides(pipeline):
    """Short sides of every resize in a (possibly nested) pipeline."""
    sides = set()
    for t in pipeline:
        if isinstance(t, (list, tuple)):
            sides |= _short_sides(t)
        elif t.get('transforms'):
            sides |= _short_sides(t.transforms)
        elif t.type in ('Resize', 'RandomChoiceResize'):
            scales = t.get('scales') or [t.scale]
            sides |= {min(sc) for sc in scales}
    return sides


def test_3x_configs_double_swins_multi_scale_crop_recipe():
    swin = get_config(
        'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py')
    swin_sides = _short_sides(swin.train_dataloader.dataset.pipeline)
    for path in [c for c in CONFIGS if c.endswith('_3x.py')]:
        pipeline = config_copy(path).train_dataloader.dataset.pipeline
        assert _short_sides(pipeline) == {2 * s for s in swin_sides}, path
        crops = [t for branch in pipeline[-2].transforms for t in branch
                 if t.type == 'RandomCrop']
        assert [tuple(c.crop_size) for c in crops] == [(768, 1200)], path


def test_cascade_uses_swins_4conv1fc_giou_syncbn_box_heads():
    heads = config_copy(
        'configs/detection/cascade_maskrcnn_hiri_s_3x.py').model.roi_head
    assert len(heads.bbox_head) == heads.num_stages == 3
    for head in heads.bbox_head:
        assert head.type == 'Shared4Conv1FCBBoxHead'
        assert head.loss_bbox.type == 'GIoULoss' and head.reg_decoded_bbox
        assert head.norm_cfg.type == 'SyncBN'
    stds = [h.bbox_coder.target_stds[0] for h in heads.bbox_head]
    assert stds == sorted(stds, reverse=True)


@pytest.mark.parametrize('path', [c for c in CONFIGS if 'mask' not in c])
def test_box_detectors_test_time_augment_at_doubled_scales(path):
    mmdet_tta = get_config('mmdet::retinanet/retinanet_tta.py')
    ours = config_copy(path)
    assert ours.tta_model.type == 'DetTTAModel'
    assert _short_sides(ours.tta_pipeline) == {
        2 * s for s in _short_sides(mmdet_tta.tta_pipeline)}


@pytest.mark.parametrize('path', CONFIGS)
def test_drop_path_is_the_arch_default(path):
    backbone = config_copy(path).model.backbone
    assert 'drop_path_rate' not in backbone


def _build(path):
    cfg = config_copy(path)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


@pytest.mark.parametrize('path', [
    # One config in the quick run; building every full-size detector takes
    # minutes on two cores.
    c if c.endswith('maskrcnn_hiri_s_1x.py') else
    pytest.param(c, marks=pytest.mark.slow) for c in CONFIGS
])
def test_config_trains_a_step_and_predicts(path):
    cfg, model = _build(path)
    # The detector's init_weights reaches every backbone layer.
    assert_initialised_by_the_rule(model.backbone)
    with_mask = 'mask' in path
    model.train()
    packed = demo_mm_inputs(2, [[3, 128, 160], [3, 96, 128]], num_items=[2, 3],
                            num_classes=80, with_mask=with_mask)
    data = model.data_preprocessor(packed, True)
    pad = cfg.model.data_preprocessor.pad_size_divisor
    assert data['inputs'].shape[-1] % pad == 0
    # mmcv's RoIAlign reads NCHW memory: channels-last maps give wrong RoI
    # features without an error.
    assert all(f.is_contiguous() for f in model.extract_feat(data['inputs']))
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
