"""The user's entry points on a checkpoint that a short Runner training
produced: tools/train.py (and --resume), tools/test.py and its options,
mmdet's own train.py, init_detector / inference_detector and
DetInferencer."""
import glob
import json
import os.path as osp
import shutil
import subprocess
import sys

import mmdet
import pytest
import torch
from mmengine.config import Config

from hiri_mm.errors import UsageError
from tests.helpers import config_copy
from tests.helpers import DET_DEMO as DEMO
from tests.helpers import det_options as demo_options


@pytest.mark.slow
def test_train_tool_writes_a_checkpoint_and_config(det_trained):
    assert osp.isfile(osp.join(det_trained, 'epoch_1.pth'))
    assert osp.isfile(osp.join(det_trained, 'maskrcnn_hiri_s_shapes.py'))


@pytest.mark.slow
def test_train_tool_log_is_quiet(det_trained):
    """mmengine's per-parameter optimizer lines stay out of the INFO log
    (the demo config sets no weight decay on norms: one line per norm
    weight and bias without hiri_mm.openmmlab.logging)."""
    log_file, = glob.glob(osp.join(det_trained, '2*', '2*.log'))
    with open(log_file) as f:
        text = f.read()
    assert 'paramwise_options' not in text
    assert text.count('Config:') == 1


@pytest.mark.slow
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


@pytest.mark.slow
def test_test_tool_evaluates_draws_and_dumps(det_trained, coco_shapes,
                                             tmp_path):
    from tools.test import main
    work_dir, out = tmp_path / 'test', tmp_path / 'preds.json'
    metrics = main([DEMO, osp.join(det_trained, 'epoch_1.pth'), '--work-dir',
                    str(work_dir), '--show-dir', 'vis', '--out', str(out),
                    '--cfg-options', *demo_options(coco_shapes, 1)])
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert 0.0 <= metrics[key] <= 1.0
    # One drawing per validation image, under work_dir/<timestamp>/vis.
    assert len(glob.glob(str(work_dir / '*' / 'vis' / '*.png'))) == 2
    with open(out) as f:  # JSON: reading it runs no code
        predictions = json.load(f)
    assert len(predictions) == 2
    first = predictions[0]['pred_instances']
    assert set(first) == {'bboxes', 'scores', 'labels', 'masks'}
    assert len(first['bboxes']) == len(first['scores']) == len(
        first['labels']) == len(first['masks'])
    assert all(len(box) == 4 for box in first['bboxes'])
    assert all(set(m) == {'size', 'counts'} for m in first['masks'])


@pytest.mark.slow
@pytest.mark.parametrize('inherited', [False, True],
                         ids=['ours', 'inherited-by-package-path'])
def test_test_tool_tta_tests_the_wrapped_model(det_trained, coco_shapes,
                                               tmp_path, inherited):
    from tools.test import main
    config = DEMO
    if inherited:
        # A user's config that only names ours: its TTA model and pipeline
        # get the hiri_mm scope and must still build mmdet's classes.
        config = tmp_path / 'mine' / osp.basename(DEMO)
        config.parent.mkdir()
        config.write_text(
            "_base_ = 'hiri_mm::demo/maskrcnn_hiri_s_shapes.py'\n")
    # mmdet's DetTTAModel merges boxes only, so a Mask R-CNN is tested with
    # TTA as a box detector (its mask head's weights left out).
    metrics = main([str(config), osp.join(det_trained, 'epoch_1.pth'),
                    '--tta', '--allow-partial-checkpoint', '--work-dir',
                    str(tmp_path), '--cfg-options',
                    *demo_options(coco_shapes, 1),
                    'model.roi_head.mask_head=None',
                    'model.roi_head.mask_roi_extractor=None',
                    'test_evaluator.metric=bbox'])
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    dumped = Config.fromfile(tmp_path / 'maskrcnn_hiri_s_shapes.py')
    assert dumped.model.type == 'DetTTAModel'
    assert dumped.model.module.type == 'MaskRCNN'
    assert dumped.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'


def test_show_options_switch_on_the_detection_hook():
    from hiri_mm.openmmlab.cli import enable_visualization
    cfg = config_copy(DEMO)
    enable_visualization(cfg, show=True, show_dir='vis', wait_time=0.5)
    hook = cfg.default_hooks.visualization
    assert (hook.draw, hook.show, hook.wait_time) == (True, True, 0.5)
    assert hook.test_out_dir == 'vis'


def test_tta_needs_the_configs_tta_model_and_pipeline():
    from hiri_mm.openmmlab.cli import enable_tta
    cfg = Config({k: v for k, v in config_copy(DEMO).to_dict().items()
                  if k != 'tta_model'})
    with pytest.raises(UsageError, match='tta_model'):
        enable_tta(cfg)


def test_detection_predictions_dump_to_json_or_pickle():
    from hiri_mm.openmmlab.cli import dump_predictions
    cfg = config_copy(DEMO)
    with pytest.raises(UsageError, match=r'\.json file \(or \.pkl'):
        dump_predictions(cfg, 'preds')
    dump_predictions(cfg, 'preds.json')
    assert cfg.test_evaluator[-1] == dict(type='DumpDetResultsJSON',
                                          out_file_path='preds.json')
    dump_predictions(cfg, 'preds.pkl')
    assert cfg.test_evaluator[-1] == dict(type='DumpDetResults',
                                          out_file_path='preds.pkl')


def test_missing_dataset_names_the_path(tmp_path):
    from tools.train import main
    with pytest.raises(SystemExit, match='instances_train2017.json'):
        main([DEMO, '--work-dir', str(tmp_path), '--cfg-options',
              f'train_dataloader.dataset.data_root={tmp_path}/'])


@pytest.mark.slow
def test_init_detector_and_inferencer(det_trained, coco_shapes, tmp_path):
    from mmdet.apis import DetInferencer, inference_detector, init_detector
    from mmengine.config import Config
    cfg = config_copy(DEMO)
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


@pytest.mark.slow
def test_mmdet_own_train_tool_runs_our_config(coco_shapes, tmp_path):
    train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    opts = [o for o in demo_options(coco_shapes, 1)
            if not o.startswith('default_hooks')]
    subprocess.run([sys.executable, train, DEMO, '--work-dir', str(tmp_path),
                    '--cfg-options', *opts], check=True, capture_output=True)
    assert osp.isfile(tmp_path / 'epoch_1.pth')


@pytest.mark.parametrize('weights, text', [
    ({}, r'missing \(\d+\): backbone\.'),
    ({'head.fc.weight': torch.ones(2)}, r'unexpected \(1\): head.fc.weight'),
])
def test_test_tool_stops_on_weights_that_do_not_fit(weights, text,
                                                    coco_shapes, tmp_path):
    """Evaluating them would print metrics of a random model."""
    from tools.test import main
    checkpoint = str(tmp_path / 'wrong.pth')
    torch.save({'state_dict': weights}, checkpoint)
    with pytest.raises(SystemExit, match=f'(?s)wrong.pth does not hold the '
                       f'weights of this MaskRCNN.*{text}'):
        main([DEMO, checkpoint, '--work-dir', str(tmp_path / 'w'),
              '--cfg-options', *demo_options(coco_shapes, 1)])
    assert not glob.glob(str(tmp_path / 'w' / '*' / '*.json'))  # no metrics


@pytest.mark.slow
def test_test_tool_allows_partial_weights_when_asked(coco_shapes,
                                                     tmp_path):
    from mmdet.apis import init_detector

    from tools.test import main
    state = init_detector(DEMO, device='cpu').state_dict()
    checkpoint = str(tmp_path / 'backbone_only.pth')
    torch.save({'state_dict': {k: v for k, v in state.items()
                               if k.startswith('backbone.')}}, checkpoint)
    metrics = main([DEMO, checkpoint, '--allow-partial-checkpoint',
                    '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    *demo_options(coco_shapes, 1)])
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0


def test_tta_model_gets_the_checkpoints_weights(coco_shapes, tmp_path,
                                                monkeypatch):
    """The weights are checked against the model inside the TTA wrapper,
    and that model is the one that receives them."""
    from mmdet.apis import init_detector
    from mmengine.runner import Runner

    from hiri_mm.openmmlab.cli import config_for, enable_tta, test
    state = init_detector(DEMO, device='cpu').state_dict()
    checkpoint = str(tmp_path / 'trained.pth')
    torch.save({'state_dict': state}, checkpoint)
    cfg = config_for(DEMO, str(tmp_path / 'w'), demo_options(coco_shapes, 1))
    enable_tta(cfg)
    tested = []

    def load_only(runner):  # Runner.test up to its test loop
        runner.load_or_resume()
        tested.append(runner.model)
        return {}

    monkeypatch.setattr(Runner, 'test', load_only)
    test(cfg, checkpoint)
    assert type(tested[0]).__name__ == 'DetTTAModel'
    loaded = tested[0].module.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
