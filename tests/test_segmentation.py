"""UPerNet configs: paper settings, wiring against the backbone, a training
and a predict step; tools and mmseg's inference APIs on a checkpoint from
a short Runner training on generated ADE20K-layout data."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from hiri_mm import HIRIViT

CONFIGS = sorted(glob.glob('configs/segmentation/upernet_hiri_*.py'))
from tests.helpers import SEG_DEMO as DEMO
from tests.helpers import seg_options


def test_both_configs_are_present():
    assert [osp.basename(c) for c in CONFIGS] == [
        'upernet_hiri_b_160k_ade20k.py', 'upernet_hiri_s_160k_ade20k.py']


@pytest.mark.parametrize('path', CONFIGS)
def test_paper_settings_and_wiring(path):
    cfg = Config.fromfile(path)
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
    assert tuple(crop) == (1024, 1024)
    assert all(c % max(backbone.out_strides) == 0 for c in crop)
    optim = cfg.optim_wrapper.optimizer
    assert (optim.type, optim.lr, optim.weight_decay) == ('AdamW', 6e-5, 0.01)
    warmup, decay = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 1500)
    assert (decay.type, decay.power, decay.end) == ('PolyLR', 1.0, 160000)
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.batch_size * 8 == 16
    resize = cfg.train_dataloader.dataset.pipeline[2]
    assert tuple(resize.scale) == (4096, 1024)


@pytest.mark.parametrize('path', CONFIGS + [DEMO])
def test_config_trains_a_step_and_predicts(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    samples = []
    for h, w in ((96, 128), (96, 128)):
        sample = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 4, (1, h, w)))
        samples.append(sample)
    packed = dict(inputs=[torch.randint(0, 255, (3, 96, 128)).byte(),
                          torch.randint(0, 255, (3, 96, 128)).byte()],
                  data_samples=samples)
    # Train on tiny crops rather than the configs' 1024.
    model.data_preprocessor.size = (128, 128)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert math.isfinite(total.item())
    total.backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
    model.eval()
    with torch.no_grad():
        results = model.test_step(packed)
    assert results[0].pred_sem_seg.data.shape[-2:] == (96, 128)


def test_test_tool_reports_miou(seg_trained, ade_shapes, tmp_path):
    from tools.test import main
    metrics = main([DEMO, seg_trained, '--work-dir', str(tmp_path),
                    '--cfg-options', *seg_options(ade_shapes, 4)])
    assert 0.0 <= metrics['mIoU'] <= 100.0
    assert 0.0 <= metrics['aAcc'] <= 100.0


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
