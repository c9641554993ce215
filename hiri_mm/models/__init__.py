from .backbones import HIRIViT

__all__ = ['HIRIViT']
