"""HIRI-ViT backbones for timm, MMDetection 3.x and MMSegmentation 1.x.

The core (:mod:`hiri_mm.models`) needs only torch and timm:
``hiri_mm.HIRIViT`` is the backbone and ``timm.create_model('hiri_vit_s')``
builds the classifier once ``hiri_mm`` is imported. When mmengine is
installed, ``import hiri_mm`` (or ``custom_imports = dict(imports=
['hiri_mm'])`` in a config) also loads the OpenMMLab adapter
(:mod:`hiri_mm.openmmlab`), which makes ``type='HIRIViT'`` buildable from
mmdet and mmseg configs and installs its safety layer (no checkpoint runs
code). Errors a user can fix are the classes of :mod:`hiri_mm.errors`.
"""
from .models import HIRIViT, HIRIViTClassifier

try:
    import mmengine  # noqa: F401
except ModuleNotFoundError as error:
    if error.name != 'mmengine':  # mmengine is there but broken
        raise
else:
    from . import openmmlab  # noqa: F401

__version__ = '0.2.0'
__all__ = ['HIRIViT', 'HIRIViTClassifier']
