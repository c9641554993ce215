"""The OpenMMLab adapter of hiri_mm (needs mmengine, not mmdet or mmseg).

``import hiri_mm`` imports it when mmengine is installed: it registers
``HIRIViT`` (with ``init_cfg``) in mmengine's root registry, which mmdet and
mmseg configs both reach, registers the Runner hooks, lets torch's
weights-only unpickler read mmengine Runner checkpoints, and routes every
checkpoint source (local paths and each URL scheme of mmengine's
CheckpointLoader) through a weights-only loader whose errors name the
source.
"""
from .backbone import HIRIViT
from .checkpoint import allow_runner_checkpoints, use_safe_loaders
from . import classification  # noqa: F401  (ImageNet pretraining pieces)
from .hooks import AtomicCheckpointHook, RNGStateHook
from .mim import register_config_scope

allow_runner_checkpoints()
use_safe_loaders()
register_config_scope()

__all__ = ['HIRIViT', 'AtomicCheckpointHook', 'RNGStateHook',
           'allow_runner_checkpoints', 'use_safe_loaders']
