"""FLOP counting: the attention handle and the paper's calibration, the
attention part of each count, and tools/analysis/get_flops.py."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.analysis import FlopAnalyzer

from hiri_mm import HIRIViT
from hiri_mm.openmmlab.analysis import (backbone_complexity,
                                        complexity_by_module, flop_analyzer)
from tests.helpers import DET_DEMO, TINY_ARCH


class _SDPA(nn.Module):

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def test_sdpa_handle_counts_both_matmuls():
    q, k, v = torch.randn(2, 3, 10, 8), torch.randn(2, 3, 6, 8), \
        torch.randn(2, 3, 6, 4)
    assert FlopAnalyzer(_SDPA(), (q, k, v)).total() == 0
    assert flop_analyzer(_SDPA(), (q, k, v)).total() == 2 * 3 * 10 * 6 * (8 + 4)


@pytest.fixture(scope='module')
def models():
    return {a: HIRIViT(a) for a in 'sbl'}


@pytest.fixture(scope='module')
def flops_448(models):
    return {a: backbone_complexity(m, (3, 448, 448))[1]
            for a, m in models.items()}


def test_small_matches_the_paper_at_448(flops_448):
    assert 4.9e9 <= flops_448['s'] <= 5.1e9  # the paper's 5.0 GFLOPs, +-2%


def test_family_scales_like_the_authors_earlier_families(flops_448):
    assert 1.8 <= flops_448['b'] / flops_448['s'] <= 2.2
    assert 2.7 <= flops_448['l'] / flops_448['s'] <= 3.3


def test_double_input_costs_about_four_times(models, flops_448):
    small = backbone_complexity(models['s'], (3, 224, 224))[1]
    assert flops_448['s'] / small == pytest.approx(4, rel=0.1)


def test_attention_part_is_what_a_counter_without_the_handle_leaves_out():
    model = HIRIViT(TINY_ARCH).eval()
    x = torch.zeros(1, 3, 96, 64)
    counts = complexity_by_module(model, (x, ), ['', 'stages.3'])
    whole, stage4 = counts[''], counts['stages.3']
    assert whole.flops - whole.attention_flops == FlopAnalyzer(
        model, (x, )).total()
    assert 0 < stage4.attention_flops < whole.attention_flops
    assert counts['stages.3'].params == sum(
        p.numel() for p in model.stages[3].parameters())


def test_get_flops_tool_prints_a_row_per_arch_and_size():
    from tools.analysis.get_flops import main
    rows = main(['--arch', 's', 'b', '--shape', '64', '96x128'])
    assert [(r['model'], r['input']) for r in rows] == [
        ('HIRI-ViT-S', (64, 64)), ('HIRI-ViT-S', (96, 128)),
        ('HIRI-ViT-B', (64, 64)), ('HIRI-ViT-B', (96, 128))]


def test_windows_cut_only_the_attention_part(flops_448):
    from tools.analysis.get_flops import arch_rows
    glob, win = arch_rows(['s'], [(448, 448)]) + arch_rows(
        ['s'], [(448, 448)], window_sizes=(7, None))
    assert win['model'] == 'HIRI-ViT-S win(7, None)'
    assert glob['flops'] == flops_448['s']
    assert win['flops'] - win['attention_flops'] == \
        glob['flops'] - glob['attention_flops']
    # Stage 4's 14x14 grid in four 7x7 windows: a quarter of its attention.
    assert win['attention_flops'] < glob['attention_flops']


@pytest.mark.slow
def test_config_mode_prints_only_the_table_and_takes_cfg_options(capfd):
    from tools.analysis.get_flops import arch_rows, main
    rows = main(['--config', DET_DEMO, '--shape', '128', '--cfg-options',
                 'model.backbone.window_sizes=(2,None)'])
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 2 + len(rows)
    assert all(line.startswith('|') for line in lines)
    backbone = next(r for r in rows if r['part'] == 'backbone')
    windowed = arch_rows(['s'], [(128, 128)], window_sizes=(2, None))[0]
    assert backbone['attention_flops'] == windowed['attention_flops']
    assert backbone['attention_flops'] < arch_rows(
        ['s'], [(128, 128)])[0]['attention_flops']


def test_options_that_belong_to_the_other_mode_are_refused():
    from tools.analysis.get_flops import parse_args
    with pytest.raises(SystemExit):
        parse_args(['--config', DET_DEMO, '--window-sizes', '14', 'none'])
    with pytest.raises(SystemExit):
        parse_args(['--arch', 's', '--cfg-options', 'model.x=1'])
