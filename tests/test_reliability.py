"""Reliability: lossless resume after SIGKILL, hostile and corrupt
checkpoints refused on every loading path, clear errors for bad inputs,
distributed training on CPU, and mixed precision."""
import logging
import os
import os.path as osp
import pickle
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from hiri_mm.openmmlab import HIRIViT

from tests.helpers import DET_DEMO as DEMO
from tests.helpers import MakesDir
from tests.helpers import SEG_DEMO
from tests.helpers import det_options as _options

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _train_cmd(work_dir, data_root, epochs, *extra):
    return [sys.executable, 'tools/train.py', DEMO, '--work-dir', work_dir,
            *extra, '--cfg-options', *_options(data_root, epochs),
            'randomness.seed=0', 'randomness.deterministic=True',
            f'train_cfg.val_interval={epochs + 1}']


@pytest.mark.slow
def test_sigkilled_training_resumes_to_identical_weights(coco_shapes,
                                                         tmp_path):
    straight, broken = str(tmp_path / 'straight'), str(tmp_path / 'broken')
    subprocess.run(_train_cmd(straight, coco_shapes, 3), check=True, cwd=ROOT,
                   capture_output=True)
    proc = subprocess.Popen(_train_cmd(broken, coco_shapes, 3), cwd=ROOT,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = osp.join(broken, 'last_checkpoint')
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if osp.isfile(last) and open(last).read().strip().endswith(
                'epoch_1.pth'):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'training ended before kill'
    assert not osp.isfile(osp.join(broken, 'epoch_3.pth'))
    subprocess.run(_train_cmd(broken, coco_shapes, 3, '--resume'), check=True,
                   cwd=ROOT, capture_output=True)
    a = torch.load(osp.join(straight, 'epoch_3.pth'))['state_dict']
    b = torch.load(osp.join(broken, 'epoch_3.pth'))['state_dict']
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def hostile(tmp_path):
    marker = str(tmp_path / 'code_ran')
    path = str(tmp_path / 'hostile.pth')
    torch.save({'state_dict': {'backbone.x': torch.ones(1)},
                'meta': MakesDir(marker)}, path)
    yield path
    assert not osp.exists(marker), 'the checkpoint executed code'


@pytest.fixture
def truncated(tmp_path):
    path = str(tmp_path / 'truncated.pth')
    torch.save(HIRIViT('s').state_dict(), path)
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    return path


def _load_paths(tiny_arch, data_root, work_dir):
    """Every way the project loads a checkpoint, as path -> callable."""
    from mmdet.apis import init_detector
    from mmseg.apis import init_model

    def pretrained(path):
        HIRIViT(tiny_arch, init_cfg=dict(type='Pretrained',
                                         checkpoint=path)).init_weights()

    def train_tool(flag):
        def run(path):
            from hiri_mm.openmmlab.cli import train
            args = ['--resume', path] if flag == 'resume' else []
            opts = [f'load_from={path}'] if flag == 'load_from' else []
            train([DEMO, '--work-dir', work_dir, *args, '--cfg-options',
                  *_options(data_root, 1), *opts])
        return run

    def converter(path):
        from tools.convert_checkpoint import convert
        convert(path, osp.join(work_dir, 'out.pth'))

    return {
        'Pretrained': pretrained,
        'load_from': train_tool('load_from'),
        '--resume': train_tool('resume'),
        'init_detector': lambda p: init_detector(DEMO, p, device='cpu'),
        'init_model': lambda p: init_model(SEG_DEMO, p, device='cpu'),
        'converter': converter,
    }


@pytest.mark.parametrize('loader', [
    'Pretrained',
    pytest.param('load_from', marks=pytest.mark.slow),
    pytest.param('--resume', marks=pytest.mark.slow),
    'init_detector', 'init_model', 'converter'])
def test_hostile_checkpoint_is_refused_everywhere(loader, hostile,
                                                  coco_shapes, tiny_arch,
                                                  tmp_path):
    load = _load_paths(tiny_arch, coco_shapes, str(tmp_path / 'w'))[loader]
    with pytest.raises(pickle.UnpicklingError, match='hostile.pth'):
        load(hostile)


@pytest.mark.parametrize('loader', ['Pretrained', 'init_detector',
                                    'converter'])
def test_truncated_checkpoint_error_names_the_file(loader, truncated,
                                                   coco_shapes, tiny_arch,
                                                   tmp_path):
    load = _load_paths(tiny_arch, coco_shapes, str(tmp_path / 'w'))[loader]
    with pytest.raises(RuntimeError, match='truncated.pth.*truncated or '
                       'corrupt'):
        load(truncated)


def test_num_classes_mismatch_is_reported(coco_shapes, tmp_path):
    from tools.train import main
    with pytest.raises(SystemExit, match=r'(?s)3 classes.*'
                       r'bbox_head.num_classes = 80'):
        main([DEMO, '--work-dir', str(tmp_path), '--cfg-options',
              *_options(coco_shapes, 1),
              'model.roi_head.bbox_head.num_classes=80'])


def test_missing_data_error_points_to_the_readme(tmp_path):
    from tools.train import main
    with pytest.raises(SystemExit, match='(?s)instances_train2017.json.*'
                       'Data layout'):
        main([DEMO, '--work-dir', str(tmp_path), '--cfg-options',
              f'train_dataloader.dataset.data_root={tmp_path}/'])


def test_nan_input_is_caught_before_the_loss(tiny_arch):
    """With the backbone's debugging check on (off by default: it
    synchronises GPU and host)."""
    x = torch.randn(1, 3, 64, 64)
    x[0, 0, 3, 3] = float('nan')
    with pytest.raises(ValueError, match='NaN or Inf'):
        HIRIViT(tiny_arch, check_finite=True)(x)


@pytest.fixture(scope='module')
def detector():
    from mmdet.apis import init_detector
    return init_detector(DEMO, device='cpu')


def _unusual_image(kind):
    rng = np.random.default_rng(0)
    return {
        'gray': rng.integers(0, 255, (100, 120), dtype=np.uint8),
        'rgba': rng.integers(0, 255, (90, 110, 4), dtype=np.uint8),
        'tiny': rng.integers(0, 255, (40, 30, 3), dtype=np.uint8),
        'odd': rng.integers(0, 255, (333, 517, 3), dtype=np.uint8),
    }[kind]


UNUSUAL = ['gray', 'rgba', 'tiny', 'odd']


@pytest.mark.parametrize('kind', UNUSUAL)
def test_unusual_images_run_through_inference(kind, detector, tmp_path):
    from mmdet.apis import inference_detector
    image = _unusual_image(kind)
    path = str(tmp_path / f'{kind}.png')
    cv2.imwrite(path, image)
    result = inference_detector(detector, path)
    assert result.ori_shape == image.shape[:2]
    assert torch.isfinite(result.pred_instances.bboxes).all()


@pytest.mark.slow
def test_unusual_images_train_and_evaluate(tmp_path):
    """One epoch of the detection demo on a set made only of unusual
    images (each with one box and mask), then COCO evaluation on them."""
    import json
    from tools.train import main
    root = tmp_path / 'unusual'
    images, annotations = [], []
    for i, kind in enumerate(UNUSUAL, 1):
        image = _unusual_image(kind)
        h, w = image.shape[:2]
        for split in ('train2017', 'val2017'):
            (root / split).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / split / f'{kind}.png'), image)
        images.append(dict(id=i, file_name=f'{kind}.png', height=h, width=w))
        x, y, bw, bh = w / 4, h / 4, w / 2, h / 2
        annotations.append(dict(
            id=i, image_id=i, category_id=1, bbox=[x, y, bw, bh],
            area=bw * bh, iscrowd=0,
            segmentation=[[x, y, x + bw, y, x + bw, y + bh, x, y + bh]]))
    (root / 'annotations').mkdir()
    for split in ('train2017', 'val2017'):
        with open(root / 'annotations' / f'instances_{split}.json', 'w') as f:
            json.dump(dict(images=images, annotations=annotations,
                           categories=[dict(id=1, name='circle'),
                                       dict(id=2, name='square'),
                                       dict(id=3, name='triangle')]), f)
    runner = main([DEMO, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                   *_options(str(root), 1)])
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == len(UNUSUAL) // 2
    assert np.isfinite(losses).all()
    for metric in ('val/coco/bbox_mAP', 'val/coco/segm_mAP'):
        assert 0 <= runner.message_hub.get_scalar(metric).current() <= 1


@pytest.mark.slow
def test_images_without_annotations_are_evaluated(coco_shapes, tmp_path):
    import json
    import shutil
    from tools.test import main
    root = str(tmp_path / 'shapes')
    shutil.copytree(coco_shapes, root)
    ann_file = osp.join(root, 'annotations', 'instances_val2017.json')
    with open(ann_file) as f:
        ann = json.load(f)
    first = ann['images'][0]['id']
    ann['annotations'] = [a for a in ann['annotations']
                          if a['image_id'] != first]
    with open(ann_file, 'w') as f:
        json.dump(ann, f)
    from mmdet.apis import init_detector
    ckpt = str(tmp_path / 'random.pth')
    torch.save({'state_dict': init_detector(DEMO, device='cpu').state_dict()},
               ckpt)
    metrics = main([DEMO, ckpt, '--work-dir', str(tmp_path / 'w'),
                    '--cfg-options', *_options(root, 1)])
    assert 'coco/bbox_mAP' in metrics


@pytest.mark.slow
def test_dist_train_two_cpu_processes(coco_shapes, tmp_path):
    work_dir = str(tmp_path / 'dist')
    env = dict(os.environ, PYTHON=sys.executable, PORT='29531')
    subprocess.run(
        ['bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir', work_dir,
         '--cfg-options', *_options(coco_shapes, 1)],
        check=True, cwd=ROOT, env=env, capture_output=True, timeout=600)
    ckpt = torch.load(osp.join(work_dir, 'epoch_1.pth'))
    # 4 images over 2 processes at batch 2: one iteration per epoch.
    assert ckpt['meta']['iter'] == 1
    from mmdet.apis import init_detector
    init_detector(DEMO, osp.join(work_dir, 'epoch_1.pth'), device='cpu')


@pytest.mark.slow
def test_bfloat16_autocast_training_step_is_finite():
    """RetinaNet: mmcv's CPU nms has no bfloat16 kernel, so two-stage
    detectors (whose RPN runs nms while training) need a GPU for AMP."""
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    init_default_scope('mmdet')
    model = MODELS.build(
        Config.fromfile('configs/detection/retinanet_hiri_s_1x.py').model)
    model.init_weights()
    model.train()
    packed = demo_mm_inputs(2, [[3, 128, 160]] * 2, num_items=[2, 1],
                            num_classes=80)
    data = model.data_preprocessor(packed, True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert all(torch.isfinite(p.grad).all()
               for p in model.backbone.parameters())


class _Records(logging.Handler):
    """Collects the messages of the logger it is added to."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def current_log():
    """Messages of mmengine's current logger during the test."""
    from mmengine.logging import MMLogger
    logger, records = MMLogger.get_current_instance(), _Records()
    logger.addHandler(records)
    yield records.messages
    logger.removeHandler(records)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only set-up')
def test_cpu_distributed_turns_syncbn_into_bn(monkeypatch, current_log):
    """mmseg's UPerNet heads use SyncBN, which needs a GPU; a CPU-only
    ``--launcher pytorch`` run gets BN instead (with a log line)."""
    import socket
    import torch.distributed as dist

    from hiri_mm.openmmlab.cli.common import setup_cpu_distributed
    from hiri_mm.openmmlab.config_checks import walk_dicts
    cfg = Config.fromfile(SEG_DEMO)
    norms = [node.type for _, node in walk_dicts(cfg.model)
             if node.get('type') in ('SyncBN', 'BN')]
    synced = norms.count('SyncBN')
    assert synced
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for key, value in dict(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                           RANK='0', WORLD_SIZE='1').items():
        monkeypatch.setenv(key, value)
    cfg.launcher = 'pytorch'
    try:
        setup_cpu_distributed(cfg)
    finally:
        dist.destroy_process_group()
    assert [node.type for _, node in walk_dicts(cfg.model)
            if node.get('type') in ('SyncBN', 'BN')] == ['BN'] * len(norms)
    assert cfg.model_wrapper_cfg.device_ids is None
    assert any(f'{synced} SyncBN norm_cfg(s) of the model changed to BN' in m
               for m in current_log)


@pytest.mark.slow
def test_train_tool_makes_plain_checkpoint_hook_crash_safe(
        coco_shapes, tmp_path, current_log):
    from hiri_mm.openmmlab import AtomicCheckpointHook
    from hiri_mm.openmmlab.cli import train
    runner = train([DEMO, '--work-dir', str(tmp_path), '--cfg-options',
                    *_options(coco_shapes, 1),
                    'default_hooks.checkpoint.type=CheckpointHook'])
    assert any(isinstance(h, AtomicCheckpointHook) for h in runner.hooks)
    assert any('CheckpointHook -> AtomicCheckpointHook' in m
               for m in current_log)
