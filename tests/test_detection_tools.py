"""The user's entry points on a checkpoint that a short Runner training
produced: tools/train.py (and --resume), tools/test.py, mmdet's own
train.py, init_detector / inference_detector and DetInferencer."""
import glob
import os.path as osp
import shutil
import subprocess
import sys

import mmdet
import pytest
import torch
from tests.helpers import DET_DEMO as DEMO
from tests.helpers import det_options as demo_options


def test_train_tool_writes_a_checkpoint_and_config(det_trained):
    assert osp.isfile(osp.join(det_trained, 'epoch_1.pth'))
    assert osp.isfile(osp.join(det_trained, 'maskrcnn_hiri_s_shapes.py'))


def test_resume_continues_from_the_last_checkpoint(det_trained, coco_shapes,
                                                   tmp_path):
    from tools.train import main
    work_dir = str(tmp_path / 'work')
    shutil.copytree(det_trained, work_dir)
    main([DEMO, '--work-dir', work_dir, '--resume', '--cfg-options',
          *demo_options(coco_shapes, 2)])
    ckpt = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=True)
    first = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    # 4 images at batch 2: resuming ran exactly one more epoch of 2 iters.
    assert ckpt['meta']['iter'] == first['meta']['iter'] + 2 == 4


def test_test_tool_evaluates_coco_bbox_and_segm(det_trained, coco_shapes):
    from tools.test import main
    metrics = main([DEMO, osp.join(det_trained, 'epoch_1.pth'), '--work-dir',
                    osp.join(det_trained, 'test'), '--show-dir', 'vis',
                    '--cfg-options', *demo_options(coco_shapes, 1)])
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert 0.0 <= metrics[key] <= 1.0
    assert glob.glob(osp.join(det_trained, 'test', '*', 'vis', '*.png'))


def test_missing_dataset_names_the_path(tmp_path):
    from tools.train import main
    with pytest.raises(SystemExit, match='instances_train2017.json'):
        main([DEMO, '--work-dir', str(tmp_path), '--cfg-options',
              f'train_dataloader.dataset.data_root={tmp_path}/'])


def test_init_detector_and_inferencer(det_trained, coco_shapes, tmp_path):
    from mmdet.apis import DetInferencer, inference_detector, init_detector
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO)
    ckpt = osp.join(det_trained, 'epoch_1.pth')
    image = glob.glob(osp.join(coco_shapes, 'val2017', '*.png'))[0]
    model = init_detector(cfg, ckpt, device='cpu')
    assert model.dataset_meta['classes'] == ('circle', 'square', 'triangle')
    result = inference_detector(model, image)
    assert 'masks' in result.pred_instances
    inferencer = DetInferencer(model=DEMO, weights=ckpt, device='cpu')
    out = inferencer(image, out_dir=str(tmp_path), no_save_pred=False)
    assert len(out['predictions']) == 1
    assert glob.glob(str(tmp_path / 'vis' / '*.png'))


def test_mmdet_own_train_tool_runs_our_config(coco_shapes, tmp_path):
    train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    opts = [o for o in demo_options(coco_shapes, 1)
            if not o.startswith('default_hooks')]
    subprocess.run([sys.executable, train, DEMO, '--work-dir', str(tmp_path),
                    '--cfg-options', *opts], check=True, capture_output=True)
    assert osp.isfile(tmp_path / 'epoch_1.pth')
