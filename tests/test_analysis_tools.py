"""tools/analysis: the benchmark harness and the result-table collector."""
import csv
import os.path as osp

import pytest
from tests.helpers import DET_DEMO, SEG_DEMO, det_options, seg_options


def test_collect_results_tables_from_test_runs(det_trained, coco_shapes,
                                              seg_trained, ade_shapes,
                                              tmp_path):
    from tools.analysis.collect_results import main as collect
    from tools.test import main as test
    det = test([DET_DEMO, osp.join(det_trained, 'epoch_1.pth'),
                '--work-dir', str(tmp_path / 'det'), '--cfg-options',
                *det_options(coco_shapes, 1)])
    seg = test([SEG_DEMO, seg_trained, '--work-dir', str(tmp_path / 'seg'),
                '--cfg-options', *seg_options(ade_shapes, 4)])
    text = collect([str(tmp_path), '--out', str(tmp_path / 'results.md')])
    rows = {line.split('|')[1].strip(): line.split('|')[2:-1]
            for line in text.splitlines() if line.startswith('| ')}
    box = rows['maskrcnn_hiri_s_shapes']
    assert len(box) == 12
    assert float(box[0]) == pytest.approx(100 * det['coco/bbox_mAP'],
                                          abs=0.05)
    if det['coco/segm_mAP'] >= 0:
        assert float(box[6]) == pytest.approx(100 * det['coco/segm_mAP'],
                                              abs=0.05)
    miou, aacc, _ = rows['upernet_hiri_s_shapes']
    assert float(miou) == pytest.approx(seg['mIoU'], abs=0.05)
    assert float(aacc) == pytest.approx(seg['aAcc'], abs=0.05)
    assert osp.isfile(tmp_path / 'results.md')


def test_benchmark_measures_every_requested_model(tmp_path):
    from tools.analysis.benchmark import main
    rows = main(['--models', 'HIRI-ViT-S', 'ResNet-50', '--quick',
                 '--warmup', '1', '--repeats', '2', '--out-dir',
                 str(tmp_path)])
    hiri, resnet = rows
    # --quick keeps HIRI-ViT at twice the peers' side.
    assert (hiri['input'], resnet['input']) == ('224x224', '112x112')
    assert hiri['gflops'] == pytest.approx(1.24, abs=0.01)
    for row in rows:
        assert row['latency_ms'] > 0 and row['throughput'] > 0
        assert row['iqr_ms'] >= 0 and row['params_m'] > 0
    with open(tmp_path / 'cls_quick.csv') as f:
        assert [r['model'] for r in csv.DictReader(f)] == [
            'HIRI-ViT-S', 'ResNet-50']
    assert 'HIRI-ViT-S' in (tmp_path / 'cls_quick.md').read_text()


def test_benchmark_deploy_compares_folded_and_unfolded(tmp_path):
    from tools.analysis.benchmark import main
    rows = main(['--deploy', '--quick', '--warmup', '1', '--repeats', '2',
                 '--out-dir', str(tmp_path)])
    assert [r['model'] for r in rows] == ['HIRI-ViT-S', 'HIRI-ViT-S (deploy)']
    # Folding removes the BatchNorm parameters and their FLOPs only.
    assert rows[1]['params_m'] < rows[0]['params_m']
    assert rows[1]['gflops'] <= rows[0]['gflops']
