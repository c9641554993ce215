"""Shared fixtures: a tiny HIRI-ViT arch keeps CPU tests fast."""
import pytest
import torch

import hiri_mm  # noqa: F401  (registers HIRIViT, allows Runner checkpoints)

TINY_ARCH = dict(
    channels=(8, 16, 16, 32, 32),
    depths=(1, 1, 1, 1, 1),
    mlp_ratios=(2, 2, 2, 2, 2),
    num_heads=(1, 1, 1, 2, 2),
    downsample_ratios=(2, 2, 2, 2))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def tiny_arch():
    return dict(TINY_ARCH)
