"""HIRI-ViT backbones for MMDetection 3.x and MMSegmentation 1.x.

``import hiri_mm`` (or ``custom_imports = dict(imports=['hiri_mm'])`` in a
config) registers ``HIRIViT`` in both toolboxes and the ``hiri_vit_*``
classifiers in timm, lets torch load the checkpoints that mmengine Runners
save, and routes every local checkpoint load through a weights-only loader
whose errors name the file.
"""
from .checkpoint import allow_runner_checkpoints, use_safe_local_loader
from .hooks import RNGStateHook
from .models import HIRIViT, HIRIViTClassifier
from .registry import register_all_modules

allow_runner_checkpoints()
use_safe_local_loader()

__version__ = '0.1.0'
__all__ = [
    'HIRIViT', 'HIRIViTClassifier', 'RNGStateHook', 'register_all_modules',
    'allow_runner_checkpoints', 'use_safe_local_loader'
]
