"""The safety layer: nothing a checkpoint holds runs code.

:func:`install` (called once by ``import hiri_mm``) sets it up:

1. :mod:`.allow_list`: torch's weights-only unpickler accepts exactly what
   an mmengine Runner checkpoint needs besides tensors
   (``torch.serialization.add_safe_globals``).
2. :mod:`.loaders`: every URL scheme of mmengine's ``CheckpointLoader``
   (and local paths) loads with ``weights_only=True``; downloads are cached
   under a hash of the whole URL. Registered with the public
   ``CheckpointLoader.register_scheme(..., force=True)``: replacing
   mmengine's own loader for each prefix is the point.
3. :mod:`.embedded_config`: the config text stored in a checkpoint is read
   as data (``name = literal`` statements), never executed, where mmengine
   would run it: ``BaseInferencer.__init__`` (DetInferencer,
   MMSegInferencer without a config) and ``Runner.resume`` /
   ``FlexibleRunner.resume`` are wrapped so that ``Config.fromstring``
   parses without executing while they run.

Config fields (``load_from``, ``resume``, ``init_cfg=dict(type=
'Pretrained')``), ``init_detector``, ``init_model``, the inferencers and
the tools all load through CheckpointLoader, so all of them are covered.

Written against mmengine 0.10.7 (pinned). Private mmengine names it relies
on, for want of a public API:

- ``CheckpointLoader._schemes``: read by :func:`unsafe_schemes` to list
  loaders that another package registered later;
- ``mmengine.runner.checkpoint._get_mmengine_home`` and
  ``_process_mmcls_checkpoint``: ``open-mmlab://`` files and ``mmcls://``
  weights resolve exactly as with mmengine's own loaders;
- ``HistoryBuffer._statistics_methods``: the statistics a buffer may name
  (the allow-list's ``getattr``) and the class state that
  :class:`~.allow_list.LoadedHistoryBuffer` leaves untouched.
"""
from . import embedded_config, loaders
from .allow_list import SAFE_GLOBALS, allow_runner_checkpoints
from .embedded_config import parse_config_text
from .loaders import (SAFE_SCHEMES, hub_cache_file, load_checkpoint,
                      unsafe_schemes)

__all__ = ['install', 'SAFE_GLOBALS', 'SAFE_SCHEMES', 'load_checkpoint',
           'hub_cache_file', 'unsafe_schemes', 'parse_config_text']


def install() -> None:
    """Set up the three parts above (idempotent)."""
    allow_runner_checkpoints()
    loaders.use_safe_loaders()
    embedded_config.guard()
