"""The OpenMMLab adapter of hiri_mm (needs mmengine, not mmdet or mmseg).

``import hiri_mm`` imports it when mmengine is installed: it registers
``HIRIViT`` (with ``init_cfg``) in mmengine's root registry, which mmdet and
mmseg configs both reach, registers the Runner hooks and the JSON results
writer, lets ``hiri_mm::`` config paths resolve, and installs the safety
layer (:func:`hiri_mm.openmmlab.safety.install`): weights-only loading for
every checkpoint source, and configs stored in checkpoints read as data.
"""
from . import classification  # noqa: F401  (ImageNet pretraining pieces)
from . import safety
from .backbone import HIRIViT
from .hooks import AtomicCheckpointHook, AtomicLocalBackend, RNGStateHook
from .mim import read_config, register_config_scope
from .results import DumpDetResultsJSON

safety.install()
register_config_scope()

__all__ = ['HIRIViT', 'AtomicCheckpointHook', 'AtomicLocalBackend',
           'RNGStateHook', 'DumpDetResultsJSON', 'read_config']
