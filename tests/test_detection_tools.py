"""The user's entry points on a checkpoint that a short Runner training
produced: tools/train.py (and --resume), tools/test.py, mmdet's own
train.py, init_detector / inference_detector and DetInferencer."""
import glob
import os.path as osp
import subprocess
import sys

import mmdet
import pytest
import torch

from hiri_mm.datasets import make_coco_shapes

DEMO = 'configs/demo/maskrcnn_hiri_s_shapes.py'


def demo_options(data_root, epochs):
    """--cfg-options pointing the demo config at a generated set."""
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


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp('shapes')
    make_coco_shapes(str(root), num_train=4, num_val=2, size=128, seed=1)
    return str(root)


@pytest.fixture(scope='module')
def trained(shapes, tmp_path_factory):
    """One epoch of tools/train.py on the demo config."""
    from tools.train import main
    work_dir = str(tmp_path_factory.mktemp('work'))
    main([DEMO, '--work-dir', work_dir, '--cfg-options',
          *demo_options(shapes, 1)])
    return work_dir


def test_train_tool_writes_a_checkpoint_and_config(trained):
    assert osp.isfile(osp.join(trained, 'epoch_1.pth'))
    assert osp.isfile(osp.join(trained, 'maskrcnn_hiri_s_shapes.py'))


def test_resume_continues_from_the_last_checkpoint(trained, shapes):
    from tools.train import main
    main([DEMO, '--work-dir', trained, '--resume', '--cfg-options',
          *demo_options(shapes, 2)])
    ckpt = torch.load(osp.join(trained, 'epoch_2.pth'), weights_only=True)
    first = torch.load(osp.join(trained, 'epoch_1.pth'), weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    # 4 images at batch 2: resuming ran exactly one more epoch of 2 iters.
    assert ckpt['meta']['iter'] == first['meta']['iter'] + 2 == 4


def test_test_tool_evaluates_coco_bbox_and_segm(trained, shapes):
    from tools.test import main
    metrics = main([DEMO, osp.join(trained, 'epoch_1.pth'), '--work-dir',
                    osp.join(trained, 'test'), '--show-dir', 'vis',
                    '--cfg-options', *demo_options(shapes, 1)])
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert 0.0 <= metrics[key] <= 1.0
    assert glob.glob(osp.join(trained, 'test', '*', 'vis', '*.png'))


def test_missing_dataset_names_the_path(tmp_path):
    from tools.train import main
    with pytest.raises(SystemExit, match='instances_train2017.json'):
        main([DEMO, '--work-dir', str(tmp_path), '--cfg-options',
              f'train_dataloader.dataset.data_root={tmp_path}/'])


def test_init_detector_and_inferencer(trained, shapes, tmp_path):
    from mmdet.apis import DetInferencer, inference_detector, init_detector
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO)
    ckpt = osp.join(trained, 'epoch_1.pth')
    image = glob.glob(osp.join(shapes, 'val2017', '*.png'))[0]
    model = init_detector(cfg, ckpt, device='cpu')
    assert model.dataset_meta['classes'] == ('circle', 'square', 'triangle')
    result = inference_detector(model, image)
    assert 'masks' in result.pred_instances
    inferencer = DetInferencer(model=DEMO, weights=ckpt, device='cpu')
    out = inferencer(image, out_dir=str(tmp_path), no_save_pred=False)
    assert len(out['predictions']) == 1
    assert glob.glob(str(tmp_path / 'vis' / '*.png'))


def test_mmdet_own_train_tool_runs_our_config(shapes, tmp_path):
    train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    opts = [o for o in demo_options(shapes, 1)
            if not o.startswith('default_hooks')]
    subprocess.run([sys.executable, train, DEMO, '--work-dir', str(tmp_path),
                    '--cfg-options', *opts], check=True, capture_output=True)
    assert osp.isfile(tmp_path / 'epoch_1.pth')
