"""Register hiri_mm's models in MMDetection's and MMSegmentation's registries.

The two toolboxes keep sibling registries under mmengine's root, so a model
has to be registered in each one to be built from either kind of config.
"""
from mmdet.registry import MODELS as MMDET_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS

from .models import HIRIViT


def register_all_modules() -> None:
    """Add every hiri_mm model to both toolboxes' MODELS (idempotent)."""
    for registry in (MMDET_MODELS, MMSEG_MODELS):
        registry.register_module(module=HIRIViT, force=True)


register_all_modules()
