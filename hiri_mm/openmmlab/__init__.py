"""The OpenMMLab adapter of hiri_mm (needs mmengine, not mmdet or mmseg).

``import hiri_mm`` imports it when mmengine is installed: it registers
``HIRIViT`` (with ``init_cfg``) in mmengine's root registry, which mmdet and
mmseg configs both reach, registers the Runner hooks, lets torch's
weights-only unpickler read mmengine Runner checkpoints, and routes local
checkpoint loads through a loader whose errors name the file.
"""
from .backbone import HIRIViT
from .checkpoint import allow_runner_checkpoints, use_safe_local_loader
from . import classification  # noqa: F401  (ImageNet pretraining pieces)
from .hooks import AtomicCheckpointHook, RNGStateHook

allow_runner_checkpoints()
use_safe_local_loader()

__all__ = ['HIRIViT', 'AtomicCheckpointHook', 'RNGStateHook',
           'allow_runner_checkpoints', 'use_safe_local_loader']
