"""ImageNet-style classification on mmengine's Runner: HIRI-ViT
pretraining with EMA distillation (``configs/classification/``).

Registered in mmengine's root registries, so the configs need no scope:
``ImageFolderDataset`` (DATASETS), ``TimmImageTransform`` (TRANSFORMS),
``MixupDataPreprocessor`` and ``EMADistillClassifier`` (MODELS),
``EMATeacherHook`` (HOOKS) and ``TopKAccuracy`` (METRICS).
"""
from .data import ImageFolderDataset, MixupDataPreprocessor, TimmImageTransform
from .metric import TopKAccuracy
from .model import EMADistillClassifier, EMATeacherHook

__all__ = ['EMADistillClassifier', 'EMATeacherHook', 'ImageFolderDataset',
           'MixupDataPreprocessor', 'TimmImageTransform', 'TopKAccuracy']
