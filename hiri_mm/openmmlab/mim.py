"""Make ``hiri_mm::`` config paths and ``mim`` work for this package.

mmengine resolves ``_base_ = 'hiri_mm::detection/maskrcnn_hiri_s_1x.py'``
and ``Config.fromfile('hiri_mm::...')`` only for the packages listed in
``mmengine.config.utils.MODULE2PACKAGE``; :func:`register_config_scope`
adds ``hiri_mm`` there (``import hiri_mm`` calls it). The files themselves
live in ``hiri_mm/.mim`` (``configs/``, ``tools/``, ``model-index.yml``),
which ``setup.py`` fills as mmdet's does.
"""
from mmengine.config.utils import MODULE2PACKAGE


def register_config_scope() -> None:
    """Let mmengine load configs written as ``hiri_mm::<folder>/<name>.py``."""
    MODULE2PACKAGE.setdefault('hiri_mm', 'hiri_mm')
