from .backbones import HIRIViT
from .classifier import HIRIViTClassifier

__all__ = ['HIRIViT', 'HIRIViTClassifier']
