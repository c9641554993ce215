"""HIRI-ViT backbones for MMDetection 3.x and MMSegmentation 1.x.

``import hiri_mm`` (or ``custom_imports = dict(imports=['hiri_mm'])`` in a
config) registers ``HIRIViT`` in both toolboxes and the ``hiri_vit_*``
classifiers in timm, and lets torch load the checkpoints that mmengine
Runners save.
"""
from .checkpoint import allow_runner_checkpoints
from .models import HIRIViT, HIRIViTClassifier
from .registry import register_all_modules

allow_runner_checkpoints()

__version__ = '0.1.0'
__all__ = [
    'HIRIViT', 'HIRIViTClassifier', 'register_all_modules',
    'allow_runner_checkpoints'
]
