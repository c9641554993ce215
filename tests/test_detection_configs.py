"""Every detection config builds, trains a step and predicts on CPU, and
every stride in it agrees with the backbone."""
import glob
import importlib
import math
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.hub import get_config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from hiri_mm.openmmlab.cli import fp32_optim_wrapper as fp32
from hiri_mm.openmmlab.config_checks import stride_problems
from tests.helpers import (assert_initialised_by_the_rule,
                           assert_loads_strictly, config_copy)

CONFIGS = sorted(glob.glob('configs/detection/*_hiri_*.py'))
DEMO = 'configs/demo/maskrcnn_hiri_s_shapes.py'


# Each windowed config and the global config it changes.
WINDOWED = {
    'configs/detection/maskrcnn_hiri_s_win14_1x.py':
    'configs/detection/maskrcnn_hiri_s_1x.py',
    'configs/detection/retinanet_hiri_s_win14_1x.py':
    'configs/detection/retinanet_hiri_s_1x.py',
}
# The authors' optimiser per detector (YehLi/ImageNetModel's Wave-ViT /
# Dual-ViT configs): lr, weight decay, weight decay multiplier of norms,
# gradient clipping. Size and window variants inherit their S config's.
RECIPES = {
    'retinanet_hiri_s_1x': (1e-4, 1e-4, None, None),
    'maskrcnn_hiri_s_1x': (2e-4, 1e-4, None, None),
    'maskrcnn_hiri_s_3x': (1e-4, 0.05, 0., None),
    'cascade_maskrcnn_hiri_s_3x': (1e-4, 0.05, 0., None),
    'atss_hiri_s_3x': (1e-4, 0.05, 0., None),
    'gfl_hiri_s_3x': (1e-4, 0.05, 0., None),
    'sparse_rcnn_hiri_s_3x': (2e-5, 1e-4, None, dict(max_norm=1,
                                                      norm_type=2)),
}


def _name(path):
    return osp.splitext(osp.basename(path))[0]


def _recipe(path):
    return RECIPES[_name(path).replace('_b_', '_s_').replace('_win14', '')]


def test_all_paper_configs_are_present():
    assert {_name(c) for c in CONFIGS} == {
        'retinanet_hiri_s_1x', 'retinanet_hiri_b_1x',
        'retinanet_hiri_s_win14_1x', 'maskrcnn_hiri_s_1x',
        'maskrcnn_hiri_b_1x', 'maskrcnn_hiri_s_win14_1x',
        'maskrcnn_hiri_s_3x', 'cascade_maskrcnn_hiri_s_3x', 'atss_hiri_s_3x',
        'gfl_hiri_s_3x', 'sparse_rcnn_hiri_s_3x'
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
    # Sparse R-CNN: one image per GPU, as its authors trained it.
    images = 1 if 'sparse' in path else 2
    assert cfg.train_dataloader.batch_size == images
    assert cfg.auto_scale_lr.base_batch_size == 8 * images
    epochs = 36 if path.endswith('_3x.py') else 12
    assert cfg.train_cfg.max_epochs == epochs
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 500)
    assert steps.milestones == ([27, 33] if epochs == 36 else [8, 11])
    resize = [t for t in cfg.test_dataloader.dataset.pipeline
              if t.type == 'Resize'][0]
    assert tuple(resize.scale) == (2666, 1600)


@pytest.mark.parametrize('path', CONFIGS)
def test_optimiser_is_the_authors_recipe_in_fp16(path):
    optim = config_copy(path).optim_wrapper
    lr, weight_decay, norm_decay, clip = _recipe(path)
    assert (optim.type, optim.loss_scale) == ('AmpOptimWrapper', 512.)
    assert optim.optimizer.type == 'AdamW'
    assert optim.optimizer.lr == pytest.approx(lr)
    assert optim.optimizer.weight_decay == weight_decay
    assert optim.get('paramwise_cfg', {}).get('norm_decay_mult') == norm_decay
    assert optim.get('clip_grad') == clip


@pytest.mark.parametrize('path', CONFIGS)
def test_neck_keeps_mmdets_xavier_initialisation(path):
    # The paper initialises new layers with Xavier: mmdet's FPN does; the
    # heads keep mmdet's own (configs/detection/README.md, "Initialisation").
    init_default_scope('mmdet')
    neck = MODELS.build(config_copy(path).model.neck)
    assert neck.init_cfg == dict(type='Xavier', layer='Conv2d',
                                 distribution='uniform')


def _long_sides(pipeline):
    """Long sides of every resize in a (possibly nested) pipeline."""
    return {max(sc) for sc in _scales(pipeline)}


def _short_sides(pipeline):
    """Short sides of every resize in a (possibly nested) pipeline."""
    return {min(sc) for sc in _scales(pipeline)}


def _scales(pipeline):
    scales = []
    for t in pipeline:
        if isinstance(t, (list, tuple)):
            scales += _scales(t)
        elif t.get('transforms'):
            scales += _scales(t.transforms)
        elif t.type in ('Resize', 'RandomChoiceResize'):
            scales += t.get('scales') or [t.scale]
    return scales


def test_3x_configs_double_detrs_multi_scale_crop_recipe():
    # mmdet's Sparse R-CNN crop-ms config is the recipe the authors used
    # (DETR's), at its original scales.
    detr = get_config(
        'mmdet::sparse_rcnn/'
        'sparse-rcnn_r50_fpn_300-proposals_crop-ms-480-800-3x_coco.py')
    detr_sides = _short_sides(detr.train_dataloader.dataset.pipeline)
    for path in [c for c in CONFIGS if c.endswith('_3x.py')]:
        pipeline = config_copy(path).train_dataloader.dataset.pipeline
        assert _short_sides(pipeline) == {2 * s for s in detr_sides}, path
        # GFL's authors cap the long side at 1200 instead of 1333.
        long_side = 2400 if 'gfl' in path else 2666
        assert _long_sides(pipeline) == {long_side}, path
        crops = [t for branch in pipeline[-2].transforms for t in branch
                 if t.type == 'RandomCrop']
        assert [tuple(c.crop_size) for c in crops] == [(768, 1200)], path


def test_cascade_uses_the_authors_4conv1fc_giou_syncbn_box_heads():
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


def _train_step(cfg, model, packed):
    """One fp32 optimizer step on ``packed``: finite losses, a gradient for
    every backbone parameter, changed weights."""
    model.train()
    data = model.data_preprocessor(packed, True)
    pad = cfg.model.data_preprocessor.pad_size_divisor
    assert data['inputs'].shape[-1] % pad == 0
    # mmcv's RoIAlign reads NCHW memory: channels-last maps give wrong RoI
    # features without an error.
    assert all(f.is_contiguous() for f in model.extract_feat(data['inputs']))
    optim_wrapper = build_optim_wrapper(model, fp32(cfg.optim_wrapper))
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert math.isfinite(total.item())
    stem_weight = next(model.backbone.stem.parameters())
    before = stem_weight.detach().clone()
    total.backward()
    unused = [n for n, p in model.backbone.named_parameters()
              if p.grad is None]
    assert not unused
    optim_wrapper.step()
    assert not torch.equal(before, stem_weight)


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
    packed = demo_mm_inputs(2, [[3, 128, 160], [3, 96, 128]], num_items=[2, 3],
                            num_classes=80, with_mask=with_mask)
    _train_step(cfg, model, packed)
    model.eval()
    with torch.no_grad():
        results = model.test_step(packed)
    assert len(results) == 2 and 'pred_instances' in results[0]
    if with_mask:
        assert 'masks' in results[0].pred_instances


@pytest.mark.parametrize('path', [
    pytest.param(c, marks=pytest.mark.slow) if 'mask' in c else c
    for c in sorted(WINDOWED)
])
def test_windowed_detector_trains_a_step_over_several_windows(path):
    cfg, model = _build(path)
    # Stage 4 (stride 32) sees a 15x19 grid: 2x2 windows of 14, padded.
    packed = demo_mm_inputs(1, [[3, 480, 608]], num_items=[3],
                            num_classes=80, with_mask='mask' in path)
    _train_step(cfg, model, packed)

@pytest.mark.parametrize('path', sorted(WINDOWED))
def test_windowed_config_changes_only_the_window_sizes(path):
    windowed, global_ = config_copy(path), config_copy(WINDOWED[path])
    assert windowed.model.backbone.pop('window_sizes') == (14, None)
    assert windowed.to_dict() == global_.to_dict()


@pytest.mark.parametrize('path', sorted(WINDOWED))
def test_windowed_detector_loads_the_global_checkpoint(path, tmp_path):
    _, global_model = _build(WINDOWED[path])
    _, windowed = _build(path)
    assert_loads_strictly(global_model, windowed, tmp_path)


def _without_gpu(monkeypatch):
    """Make the train tool see a machine without a GPU."""
    module = importlib.import_module('hiri_mm.openmmlab.cli.train')
    monkeypatch.setattr(module, 'get_device', lambda: 'cpu')


def test_fp16_configs_train_in_fp32_without_a_gpu(monkeypatch):
    """`python tools/train.py configs/detection/maskrcnn_hiri_s_1x.py` on a
    CPU: mmengine's AmpOptimWrapper refuses to build there, so the train
    tool keeps the optimizer and its settings in fp32."""
    from hiri_mm.openmmlab.cli import use_fp32_without_gpu
    _without_gpu(monkeypatch)
    cfg = config_copy('configs/detection/maskrcnn_hiri_s_1x.py')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert use_fp32_without_gpu(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    assert cfg.optim_wrapper.optimizer == config_copy(
        'configs/detection/maskrcnn_hiri_s_1x.py').optim_wrapper.optimizer
    # A config that already trains in fp32 is left as it is.
    demo = config_copy('configs/demo/maskrcnn_hiri_s_shapes.py')
    assert not use_fp32_without_gpu(demo)


def test_amp_flag_without_a_gpu_says_so(tmp_path, monkeypatch):
    from hiri_mm.errors import UsageError
    from hiri_mm.openmmlab.cli import train
    _without_gpu(monkeypatch)
    with pytest.raises(UsageError, match='--amp needs a GPU'):
        train(['configs/demo/maskrcnn_hiri_s_shapes.py', '--amp',
               '--work-dir', str(tmp_path)])
