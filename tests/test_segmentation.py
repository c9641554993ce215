"""UPerNet configs: paper settings, wiring against the backbone, a training
and a predict step; tools and mmseg's inference APIs on a checkpoint from
a short Runner training on generated ADE20K-layout data."""
import glob
import math
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from hiri_mm import HIRIViT
from hiri_mm.openmmlab.cli import fp32_optim_wrapper as fp32
from hiri_mm.openmmlab.config_checks import stride_problems
from tests.helpers import assert_loads_strictly, config_copy
from tests.helpers import SEG_DEMO as DEMO
from tests.helpers import seg_options

CONFIGS = sorted(glob.glob('configs/segmentation/upernet_hiri_*.py'))
WINDOWED = 'configs/segmentation/upernet_hiri_s_win14_160k_ade20k.py'


def test_every_config_is_present():
    assert [osp.basename(c) for c in CONFIGS] == [
        'upernet_hiri_b_160k_ade20k.py', 'upernet_hiri_s_160k_ade20k.py',
        'upernet_hiri_s_crop512_160k_ade20k.py',
        'upernet_hiri_s_win14_160k_ade20k.py']


@pytest.mark.parametrize('path', CONFIGS)
def test_paper_settings_and_wiring(path):
    cfg = config_copy(path)
    backbone_cfg = {k: v for k, v in cfg.model.backbone.items()
                    if k not in ('type', '_delete_')}
    backbone = HIRIViT(**backbone_cfg)
    assert backbone.out_strides == (8, 16, 32, 64)
    head = cfg.model.decode_head
    assert list(head.in_channels) == list(backbone.out_channels)
    assert list(head.in_index) == [0, 1, 2, 3]
    aux = cfg.model.auxiliary_head
    # The auxiliary head reads stage 4 (index 3 of the backbone).
    assert backbone.out_indices[aux.in_index] == 3
    assert aux.in_channels == backbone.channels[3]
    crop = cfg.model.data_preprocessor.size
    side = 512 if 'crop512' in path else 1024
    assert tuple(crop) == (side, side)
    assert all(c % max(backbone.out_strides) == 0 for c in crop)
    # The authors' UPerNet recipe: fp16 with a loss scale of 512, no weight
    # decay on norms.
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale) == (
        'AmpOptimWrapper', 512.)
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.
    optim = cfg.optim_wrapper.optimizer
    assert (optim.type, optim.lr, optim.weight_decay) == ('AdamW', 6e-5, 0.01)
    warmup, decay = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 1500)
    assert (decay.type, decay.power, decay.end) == ('PolyLR', 1.0, 160000)
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.batch_size * 8 == 16
    resize = cfg.train_dataloader.dataset.pipeline[2]
    assert tuple(resize.scale) == (4 * side, side)
    test_resize = cfg.test_dataloader.dataset.pipeline[1]
    assert tuple(test_resize.scale) == (4 * side, side)


@pytest.mark.parametrize('path', CONFIGS + [DEMO])
def test_head_inputs_agree_with_the_backbone(path):
    assert stride_problems(config_copy(path)) == []


def test_head_check_names_a_wrong_stage_or_width():
    cfg = config_copy(CONFIGS[0])
    cfg.model.decode_head.in_channels = [64, 128, 320, 512]  # a ResNet-ish
    cfg.model.auxiliary_head.in_index = 4
    problems = stride_problems(cfg)
    assert problems == [
        'model.decode_head.in_channels [64, 128, 320, 512] != backbone '
        f'out_channels {list(HIRIViT("b").out_channels)} at in_index '
        '[0, 1, 2, 3]',
        'model.auxiliary_head.in_index 4 is not among the 4 returned stages '
        '(backbone out_indices [1, 2, 3, 4])']


def test_train_stops_on_a_wrong_head_before_the_runner(ade_shapes,
                                                       tmp_path):
    from tools.train import main
    with pytest.raises(SystemExit, match=r'(?s)disagrees with the HIRI-ViT '
                       r'backbone.*model.auxiliary_head.in_channels 999'):
        main([DEMO, '--work-dir', str(tmp_path), '--cfg-options',
              *seg_options(ade_shapes, 1),
              'model.auxiliary_head.in_channels=999'])
    assert not any(tmp_path.iterdir())  # no Runner: nothing written


@pytest.mark.parametrize('path', CONFIGS + [DEMO])
def test_syncbn_in_backbone_and_heads(path):
    """mmseg's multi-GPU convention; the single-process runs of this suite
    (seg_trained) show that mmengine turns it into plain BatchNorm."""
    model = config_copy(path).model
    assert model.backbone.norm_cfg.type == 'SyncBN'
    assert model.decode_head.norm_cfg.type == 'SyncBN'


@pytest.mark.parametrize('path', CONFIGS)
def test_tta_rescales_like_mmseg_at_the_configs_resolution(path):
    tta = config_copy(path).tta_pipeline[1].transforms[0]
    factor = 1 if 'crop512' in path else 2
    assert [t.scale_factor for t in tta] == [
        factor * r for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)]


# The full-size UPerNets take 10-20 s each on two cores: slow; the demo
# config (same backbone and head wiring, narrower heads) runs always.
@pytest.mark.parametrize(
    'path', [pytest.param(c, marks=pytest.mark.slow) for c in CONFIGS] +
    [DEMO])
def test_config_trains_a_step_and_predicts(path):
    cfg, model = _build(path)
    packed = _packed([(96, 128), (96, 128)])
    # Train on tiny crops rather than the configs' 1024.
    model.data_preprocessor.size = (128, 128)
    _train_step(cfg, model, packed)
    model.eval()
    with torch.no_grad():
        results = model.test_step(packed)
    assert results[0].pred_sem_seg.data.shape[-2:] == (96, 128)


def _build(path):
    cfg = config_copy(path)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def _packed(shapes):
    """Random images of ``shapes`` (h, w) with random 4-class label maps."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    inputs, samples = [], []
    for h, w in shapes:
        inputs.append(torch.randint(0, 255, (3, h, w)).byte())
        sample = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, h, w)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _train_step(cfg, model, packed):
    """One fp32 optimizer step: finite losses, a gradient for every backbone
    parameter, changed weights."""
    model.train()
    data = model.data_preprocessor(packed, True)
    optim_wrapper = build_optim_wrapper(model, fp32(cfg.optim_wrapper))
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert math.isfinite(total.item())
    total.backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
    stem_weight = next(model.backbone.stem.parameters())
    before = stem_weight.detach().clone()
    optim_wrapper.step()
    assert not torch.equal(before, stem_weight)


def test_windowed_config_changes_only_the_window_sizes():
    windowed = config_copy(WINDOWED)
    assert windowed.model.backbone.pop('window_sizes') == (14, None)
    assert windowed.to_dict() == config_copy(
        'configs/segmentation/upernet_hiri_s_160k_ade20k.py').to_dict()


@pytest.mark.slow
def test_windowed_upernet_trains_a_step_over_several_windows():
    cfg, model = _build(WINDOWED)
    # 512x640 crops: stage 4 (stride 32) sees 16x20, 2x2 windows of 14; two
    # of them, as the pyramid pooling's BatchNorm needs.
    model.data_preprocessor.size = (512, 640)
    _train_step(cfg, model, _packed([(512, 640), (512, 640)]))


@pytest.mark.slow
def test_windowed_upernet_loads_the_global_checkpoint(tmp_path):
    _, global_model = _build(
        'configs/segmentation/upernet_hiri_s_160k_ade20k.py')
    _, windowed = _build(WINDOWED)
    assert_loads_strictly(global_model, windowed, tmp_path)


@pytest.mark.slow
def test_test_tool_reports_miou_draws_and_writes_label_maps(
        seg_trained, ade_shapes, tmp_path):
    from tools.test import main
    show_dir, out = tmp_path / 'vis', tmp_path / 'label_maps'
    metrics = main([DEMO, seg_trained, '--work-dir', str(tmp_path / 'work'),
                    '--show-dir', str(show_dir), '--out', str(out),
                    '--cfg-options', *seg_options(ade_shapes, 4)])
    assert 0.0 <= metrics['mIoU'] <= 100.0
    assert 0.0 <= metrics['aAcc'] <= 100.0
    # mmseg's layouts: drawings under SHOW_DIR/vis_data/vis_image, one label
    # map per validation image in the --out folder.
    assert len(glob.glob(str(show_dir / 'vis_data' / 'vis_image' /
                             '*.png'))) == 2
    assert len(glob.glob(str(out / '*.png'))) == 2


@pytest.mark.slow
def test_test_tool_tta_and_pickled_predictions(seg_trained, ade_shapes,
                                               tmp_path):
    from tools.test import main
    out = tmp_path / 'preds.pkl'
    metrics = main([DEMO, seg_trained, '--tta', '--out', str(out),
                    '--work-dir', str(tmp_path), '--cfg-options',
                    *seg_options(ade_shapes, 4)])
    assert 0.0 <= metrics['mIoU'] <= 100.0
    dumped = Config.fromfile(tmp_path / 'upernet_hiri_s_shapes.py')
    assert dumped.model.type == 'SegTTAModel'
    assert dumped.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert [p['pred_sem_seg']['data'].shape[-2:] for p in predictions] == [
        (96, 96), (96, 96)]


def test_show_options_switch_on_the_segmentation_hook():
    from hiri_mm.openmmlab.cli import enable_visualization
    cfg = config_copy(DEMO)
    cfg.work_dir = 'work_dirs/demo'
    enable_visualization(cfg, show=True, show_dir='vis', wait_time=0.5)
    hook = cfg.default_hooks.visualization
    assert (hook.draw, hook.show, hook.wait_time) == (True, True, 0.5)
    # Every test image is drawn (mmseg's default: every 50th batch).
    assert hook.interval == 1
    # A relative folder goes under the work dir (mmseg: the current one).
    assert cfg.visualizer.save_dir == osp.join('work_dirs/demo', 'vis')


def test_segmentation_predictions_dump_to_a_pickle_or_a_folder():
    from hiri_mm.openmmlab.cli import dump_predictions
    cfg = config_copy(DEMO)
    dump_predictions(cfg, 'label_maps')
    assert cfg.test_evaluator.output_dir == 'label_maps'
    dump_predictions(cfg, 'preds.pkl')
    assert cfg.test_evaluator[-1] == dict(type='DumpResults',
                                          out_file_path='preds.pkl')


@pytest.mark.slow
def test_init_model_and_inferencer(seg_trained, ade_shapes, tmp_path):
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    ckpt = seg_trained
    image = sorted(glob.glob(osp.join(ade_shapes, 'images', 'validation',
                                      '*.png')))[0]
    model = init_model(DEMO, ckpt, device='cpu')
    result = inference_model(model, image)
    assert result.pred_sem_seg.data.shape[-2:] == (96, 96)
    assert int(result.pred_sem_seg.data.max()) < 4
    inferencer = MMSegInferencer(DEMO, ckpt, device='cpu')
    inferencer(image, out_dir=str(tmp_path))
    assert glob.glob(str(tmp_path / 'vis' / '*.png'))
