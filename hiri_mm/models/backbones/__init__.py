from .hiri_vit import HIRIViT

__all__ = ['HIRIViT']
