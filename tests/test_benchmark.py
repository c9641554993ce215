"""tools/analysis/benchmark.py: which rows it measures, the ratios against
Swin-T, and a real (small) run that writes the tables."""
import csv
import json

import pytest
import torch

from hiri_mm import HIRIViT
from hiri_mm.openmmlab.analysis import backbone_complexity
from tools.analysis.benchmark import (add_ratios, count_gmacs, jobs,
                                      markdown, median_rows, parse_args)


def test_jobs_cover_settings_variants_and_deploy():
    args = parse_args(['--device', 'cpu', '--models', 'HIRI-ViT-S', 'Swin-T',
                       'DeiT-S', '--compile', '--deploy'])
    todo = jobs(args)
    assert ('DeiT-S', 'eager', 'cls') in todo
    assert not any(m == 'DeiT-S' and s == 'det' for m, _, s in todo)
    assert {v for m, v, _ in todo if m == 'HIRI-ViT-S'} == {
        'eager', 'eager deploy', 'compiled', 'compiled deploy'}
    assert {v for m, v, _ in todo if m == 'Swin-T'} == {'eager', 'compiled'}
    assert (args.batch, args.train_batch) == (8, 4)  # CPU defaults


def test_ratios_are_against_swin_of_the_same_setting_and_variant():
    sizes = dict(input='1x1', params_m=1., gmacs=1.)
    rows = [{**sizes, **r} for r in [
        dict(setting='cls', model='Swin-T', variant='eager', throughput=100.,
             latency_ms=10., train_throughput=50.),
        dict(setting='cls', model='HIRI-ViT-S', variant='eager',
             throughput=120., latency_ms=8., train_throughput=40.),
        dict(setting='cls', model='HIRI-ViT-S', variant='eager deploy',
             throughput=150., latency_ms=5.),
        dict(setting='det', model='HIRI-ViT-S', variant='eager',
             throughput=1., latency_ms=1.),
    ]] + [dict(setting='cls', model='X', variant='eager', skipped='no x')]
    add_ratios(rows)
    assert rows[1]['throughput_vs_swin'] == pytest.approx(1.2)
    assert rows[1]['latency_vs_swin'] == pytest.approx(1.25)  # faster: > 1
    assert rows[1]['train_vs_swin'] == pytest.approx(0.8)
    assert rows[2]['latency_vs_swin'] == pytest.approx(2.)
    assert 'throughput_vs_swin' not in rows[3]  # no Swin-T row in det
    text = markdown(rows, 'header')
    assert '| X | eager | skipped: no x |' in text


def test_gmacs_are_get_flops_numbers_and_torch_counts_without_mmengine(
        monkeypatch):
    from tools.analysis import benchmark
    model = HIRIViT('s').eval()
    x = torch.zeros(1, 3, 224, 224)
    reference = backbone_complexity(model, (3, 224, 224))[1] / 1e9
    assert count_gmacs(model, x) == pytest.approx(reference, rel=1e-9)
    monkeypatch.setattr(benchmark, 'flop_counter', lambda: 'torch')
    # torch's counter leaves out the norms mmengine's counts.
    assert count_gmacs(model, x) == pytest.approx(reference, rel=0.06)
    assert count_gmacs(model, x) < reference


@pytest.mark.slow
def test_small_cpu_run_writes_tables_naming_the_device(tmp_path):
    from tools.analysis.benchmark import main
    rows = main(['--quick', '--device', 'cpu', '--setting', 'cls',
                 '--models', 'HIRI-ViT-S', 'Swin-T', 'FasterViT-0',
                 '--deploy', '--warmup', '1', '--min-run-time', '0.05',
                 '--out-dir', str(tmp_path)])
    hiri, deploy, swin, faster = rows
    assert (hiri['input'], swin['input']) == ('128x128', '64x64')
    for row in (hiri, swin):
        assert row['throughput'] > 0 and row['latency_ms'] > 0
        assert row['train_throughput'] > 0 and row['params_m'] > 0
    assert deploy['variant'] == 'eager deploy' and deploy['latency_ms'] > 0
    assert 'train_throughput' not in deploy  # deploy is inference-only
    assert hiri['latency_vs_swin'] == pytest.approx(
        swin['latency_ms'] / hiri['latency_ms'])
    assert 'skipped' in faster  # fastervit is not installed here
    with open(tmp_path / 'cls_quick.csv') as f:
        assert [r['model'] for r in csv.DictReader(f)] == [
            'HIRI-ViT-S', 'HIRI-ViT-S', 'Swin-T', 'FasterViT-0']
    env = json.loads((tmp_path / 'env.json').read_text())
    assert env['device'].endswith('threads')
    assert env['device'] in (tmp_path / 'cls_quick.md').read_text()


def test_rounds_keep_each_numbers_median():
    rounds = [[dict(model='A', latency_ms=v, input='1x1'),
               dict(model='B', latency_ms=10 * v, input='1x1')]
              for v in (3., 1., 2.)]
    rows = median_rows([r for rnd in rounds for r in rnd], per_round=2)
    assert [(r['model'], r['latency_ms']) for r in rows] == [('A', 2.),
                                                            ('B', 20.)]
