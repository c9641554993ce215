"""tools/analysis/benchmark.py: which rows it measures, the ratios against
Swin-T, and a real (small) run that writes the tables."""
import csv
import json

import pytest
import torch

from hiri_mm import HIRIViT
from hiri_mm.openmmlab.analysis import backbone_complexity
from tools.analysis import benchmark
from tools.analysis.benchmark import (add_ratios, count_gmacs, jobs,
                                      markdown, median_rows, parse_args)


def test_jobs_cover_settings_variants_and_deploy():
    args = parse_args(['--device', 'cpu', '--models', 'HIRI-ViT-S', 'Swin-T',
                       'DeiT-S', 'HIRI-ViT-S win14', '--compile', '--deploy',
                       '--onnxruntime'])
    todo = jobs(args)
    assert ('DeiT-S', 'eager', 'cls') in todo
    assert not any(m == 'DeiT-S' and s == 'det' for m, _, s in todo)
    assert {v for m, v, _ in todo if m == 'HIRI-ViT-S'} == {
        'eager', 'eager deploy', 'compiled', 'compiled deploy',
        'onnxruntime deploy'}
    assert {v for m, v, _ in todo if m == 'Swin-T'} == {
        'eager', 'compiled', 'onnxruntime'}
    assert 'onnxruntime' not in {v for m, v, _ in todo if m == 'DeiT-S'}
    # Windows change nothing at 448, where stage 4 is one 14x14 window.
    assert {s for m, _, s in todo if m == 'HIRI-ViT-S win14'} == {'det'}
    assert (args.batch, args.train_batch) == (8, 4)  # CPU defaults


def test_quick_runs_three_models_with_short_timing_unless_told():
    args = parse_args(['--device', 'cpu', '--quick'])
    assert args.models == ['HIRI-ViT-S', 'Swin-T', 'MaxViT-T']
    assert (args.warmup, args.min_run_time, args.batch) == (1, 0.05, 2)
    assert args.threads == 1
    args = parse_args(['--device', 'cpu', '--quick', '--models', 'ResNet-50',
                       '--warmup', '0', '--min-run-time', '2'])
    assert (args.models, args.warmup, args.min_run_time) == (
        ['ResNet-50'], 0, 2.)


def test_timing_repeats_calls_for_the_minimum_run_time():
    calls = []
    median, iqr = benchmark._time(lambda: calls.append(1), warmup=2,
                                  min_run_time=0.01,
                                  device=torch.device('cpu'))
    assert len(calls) > 3 and median > 0 and iqr >= 0
    calls.clear()
    benchmark._time(lambda: calls.append(1), warmup=0, min_run_time=0,
                    device=torch.device('cpu'))
    assert calls == [1]  # one call even without a minimum


def test_cpu_clock_does_not_count_time_spent_waiting():
    import time
    cpu, _ = benchmark._time(lambda: time.sleep(0.02), warmup=0,
                             min_run_time=0, device=torch.device('cpu'),
                             clock='cpu')
    wall, _ = benchmark._time(lambda: time.sleep(0.02), warmup=0,
                              min_run_time=0, device=torch.device('cpu'))
    assert wall >= 0.02 > 10 * cpu


def test_rows_that_cannot_run_here_say_why(monkeypatch):
    args = parse_args(['--device', 'cpu', '--onnxruntime'])
    real = benchmark.find_spec
    monkeypatch.setattr(benchmark, 'find_spec',
                        lambda name: None if name in ('onnxruntime',
                                                      'fastervit')
                        else real(name))
    row = benchmark.run_isolated('Swin-T', 'onnxruntime', 'det', args)
    assert row['skipped'] == ('onnxruntime is not installed (pip install '
                              'hiri_mm[deploy])')
    assert benchmark.skip_reason('FasterViT-0', 'eager', args) == \
        'fastervit is not installed'
    assert benchmark.skip_reason('Swin-T', 'eager', args) is None


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
def test_small_cpu_run_writes_tables_naming_the_device(tmp_path, capfd):
    from tools.analysis.benchmark import main
    pytest.importorskip('onnxruntime')
    rows = main(['--quick', '--device', 'cpu', '--setting', 'cls',
                 '--models', 'HIRI-ViT-S', 'Swin-T', 'MaxViT-T',
                 '--deploy', '--onnxruntime', '--progress', '--rounds', '2',
                 '--out-dir', str(tmp_path)])
    hiri, deploy, hiri_ort, swin, swin_ort, maxvit = rows
    assert (hiri['input'], swin['input']) == ('128x128', '64x64')
    for row in (hiri, swin):
        assert row['throughput'] > 0 and row['latency_ms'] > 0
        assert row['train_throughput'] > 0 and row['params_m'] > 0
    assert deploy['variant'] == 'eager deploy' and deploy['latency_ms'] > 0
    assert 'train_throughput' not in deploy  # deploy is inference-only
    assert hiri['latency_vs_swin'] == pytest.approx(
        swin['latency_ms'] / hiri['latency_ms'])
    assert hiri_ort['variant'] == 'onnxruntime deploy'
    assert hiri_ort['latency_vs_swin'] == pytest.approx(
        swin_ort['latency_ms'] / hiri_ort['latency_ms'])
    assert hiri_ort['gmacs'] == hiri['gmacs']
    # MaxViT's 7x7 windows do not fit the small input: a row says so.
    assert 'divisible by window' in maxvit['skipped']
    table = (tmp_path / 'cls_quick.md').read_text()
    assert '| MaxViT-T | eager | skipped: AssertionError' in table
    with open(tmp_path / 'cls_quick.csv') as f:
        assert [r['model'] for r in csv.DictReader(f)] == [
            'HIRI-ViT-S'] * 3 + ['Swin-T'] * 2 + ['MaxViT-T']
    env = json.loads((tmp_path / 'env.json').read_text())
    assert env['device'].endswith('threads')
    assert env['device'] in table
    err = capfd.readouterr().err
    # A line per model and measure, both rounds; no CUDA warnings.
    assert '[1/12] HIRI-ViT-S eager (cls): latency' in err
    assert '[12/12, about' in err and 'MaxViT-T eager (cls): skipped' in err
    assert 'CUDA' not in err


def test_rounds_keep_each_numbers_median():
    rounds = [[dict(model='A', latency_ms=v, input='1x1'),
               dict(model='B', latency_ms=10 * v, input='1x1')]
              for v in (3., 1., 2.)]
    rows = median_rows([r for rnd in rounds for r in rnd], per_round=2)
    assert [(r['model'], r['latency_ms']) for r in rows] == [('A', 2.),
                                                            ('B', 20.)]
