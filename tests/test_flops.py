"""FLOP counting: the attention handle and the paper's calibration."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.analysis import FlopAnalyzer

from hiri_mm import HIRIViT
from hiri_mm.openmmlab.analysis import backbone_complexity, flop_analyzer


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


def test_get_flops_tool_prints_a_row_per_arch_and_size():
    from tools.analysis.get_flops import main
    rows = main(['--arch', 's', 'b', '--shape', '64', '128'])
    assert [(r['model'], r['input']) for r in rows] == [
        ('HIRI-ViT-S', (64, 64)), ('HIRI-ViT-S', (128, 128)),
        ('HIRI-ViT-B', (64, 64)), ('HIRI-ViT-B', (128, 128))]
