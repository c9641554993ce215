"""tools/analysis: the result-table collector and get_flops --config (the
benchmark's tests are in test_benchmark.py)."""
import glob
import json
import os
import os.path as osp

import pytest

from hiri_mm import HIRIViT
from hiri_mm.openmmlab.analysis import backbone_complexity
from tests.helpers import DET_DEMO, SEG_DEMO, det_options, seg_options


def _table_rows(text):
    """``{config: [cells]}`` of the markdown tables in ``text``."""
    return {line.split('|')[1].strip(): [c.strip()
                                         for c in line.split('|')[2:-1]]
            for line in text.splitlines() if line.startswith('| ')}


def _last_metrics(work_dir):
    """The metrics line of the newest test run under ``work_dir``, as the
    Runner wrote it to ``<timestamp>/<timestamp>.json``."""
    stamp = sorted(glob.glob(osp.join(work_dir, '2*')))[-1]
    with open(osp.join(stamp, osp.basename(stamp) + '.json')) as f:
        return json.loads(f.read().splitlines()[-1])


def _write_run(work_dir, config, stamp, metrics):
    os.makedirs(osp.join(work_dir, stamp))
    open(osp.join(work_dir, config), 'w').close()
    with open(osp.join(work_dir, stamp, f'{stamp}.json'), 'w') as f:
        f.write(json.dumps(dict(step=1)) + '\n' + json.dumps(metrics) + '\n')


def test_collect_results_shows_each_runs_newest_metrics(tmp_path):
    from tools.analysis.collect_results import main as collect
    det = str(tmp_path / 'det')
    _write_run(det, 'maskrcnn_x.py', '20260101_000000',
               {'coco/bbox_mAP': 0.1})
    _write_run(det, 'maskrcnn_x.py', '20260102_000000', {
        'coco/bbox_mAP': 0.0846, 'coco/bbox_mAP_50': 0.5,
        'coco/bbox_mAP_75': 0.25, 'coco/bbox_mAP_s': -1.0,
        'coco/bbox_mAP_m': 0.3, 'coco/bbox_mAP_l': 0.7,
        'coco/segm_mAP': 0.0})
    _write_run(str(tmp_path / 'seg'), 'upernet_x.py', '20260101_000000',
               {'mIoU': 92.56, 'aAcc': 99.36, 'mAcc': 96.04})
    rows = _table_rows(collect([str(tmp_path)]))
    # Percent with one decimal; -1 (no such objects) and absent keys as '-'.
    assert rows['maskrcnn_x'] == ['8.5', '50.0', '25.0', '-', '30.0', '70.0',
                                  '0.0', '-', '-', '-', '-', '-']
    assert rows['upernet_x'] == ['92.6', '99.4', '96.0']


def test_collect_results_keeps_plain_and_tta_tests_apart(tmp_path):
    """A TTA test once hid the plain test of the same config; runs of one
    config in two work dirs get a row each."""
    from tools.analysis.collect_results import main as collect
    det = str(tmp_path / 'det')
    _write_run(det, 'retinanet_x.py', '20260101_000000',
               {'coco/bbox_mAP': 0.2})
    _write_run(det, 'retinanet_x.py', '20260102_000000',
               {'coco/bbox_mAP': 0.3})
    os.makedirs(osp.join(det, '20260102_000000', 'vis_data'))
    with open(osp.join(det, '20260102_000000', 'vis_data', 'config.py'),
              'w') as f:
        f.write("model = dict(type='DetTTAModel', module=dict())\n")
    _write_run(str(tmp_path / 'again'), 'retinanet_x.py', '20260103_000000',
               {'coco/bbox_mAP': 0.4})
    rows = _table_rows(collect([str(tmp_path)]))
    assert {name: cells[0] for name, cells in rows.items()
            if name != 'config'} == {
        'retinanet_x [det]': '20.0', 'retinanet_x (TTA)': '30.0',
        'retinanet_x [again]': '40.0'}


@pytest.mark.slow
def test_collect_results_tables_from_test_runs(det_trained, coco_shapes,
                                              seg_trained, ade_shapes,
                                              tmp_path):
    from tools.analysis.collect_results import main as collect
    from tools.test import main as test
    test([DET_DEMO, osp.join(det_trained, 'epoch_1.pth'), '--work-dir',
          str(tmp_path / 'det'), '--cfg-options',
          *det_options(coco_shapes, 1)])
    test([SEG_DEMO, seg_trained, '--work-dir', str(tmp_path / 'seg'),
          '--cfg-options', *seg_options(ade_shapes, 4)])
    text = collect([str(tmp_path), '--out', str(tmp_path / 'results.md')])
    assert (tmp_path / 'results.md').read_text() == text
    rows = _table_rows(text)
    # The tables show what each test run wrote to its json, in percent with
    # one decimal (mmseg's metrics are percentages already).
    det = _last_metrics(tmp_path / 'det')
    box = rows['maskrcnn_hiri_s_shapes']
    assert box[0] == f"{100 * det['coco/bbox_mAP']:.1f}"
    segm = det['coco/segm_mAP']
    assert box[6] == (f'{100 * segm:.1f}' if segm >= 0 else '-')
    seg = _last_metrics(tmp_path / 'seg')
    assert rows['upernet_hiri_s_shapes'][:2] == [f"{seg['mIoU']:.1f}",
                                                 f"{seg['aAcc']:.1f}"]


@pytest.mark.slow
def test_get_flops_config_labels_backbone_neck_and_whole_model():
    from mmengine.config import Config

    from tools.analysis.get_flops import main
    rows = main(['--config', DET_DEMO, '--shape', '128', '128'])
    parts = {r['part']: r for r in rows}
    assert list(parts) == ['backbone', 'neck', 'whole model']
    assert all(r['input'] == (128, 128) for r in rows)
    # "backbone" is the config's HIRIViT alone, counted the same way.
    backbone_cfg = Config.fromfile(DET_DEMO).model.backbone
    backbone = HIRIViT(**{k: v for k, v in backbone_cfg.items()
                          if k not in ('type', '_delete_')})
    assert (parts['backbone']['params'], parts['backbone']['flops']) == \
        backbone_complexity(backbone, (3, 128, 128))
    whole = parts['whole model']
    assert whole['params'] > parts['backbone']['params'] + parts['neck'][
        'params']
    assert whole['flops'] > parts['backbone']['flops'] + parts['neck']['flops']
