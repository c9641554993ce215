"""Make ``hiri_mm::`` config paths and ``mim`` work for this package.

mmengine resolves ``_base_ = 'hiri_mm::detection/maskrcnn_hiri_s_1x.py'``
and ``mmengine.hub.get_config('hiri_mm::...')`` only for the packages listed
in ``mmengine.config.utils.MODULE2PACKAGE``; :func:`register_config_scope`
adds ``hiri_mm`` there (``import hiri_mm`` calls it). ``Config.fromfile``
takes file paths only, for every package; the tools read configs with
:func:`read_config`, which takes both. The files themselves live in
``hiri_mm/.mim`` (``configs/``, ``tools/``, ``model-index.yml``), which
``setup.py`` fills as mmdet's does.
"""
import importlib
import os.path as osp

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

__all__ = ['register_config_scope', 'read_config']


def register_config_scope() -> None:
    """Let mmengine load configs written as ``hiri_mm::<folder>/<name>.py``."""
    MODULE2PACKAGE.setdefault('hiri_mm', 'hiri_mm')


def read_config(path: str) -> Config:
    """Read a config given as a file path or as ``package::folder/name.py``
    (``hiri_mm::``, ``mmdet::``, ``mmseg::``).

    A package path names ``<package>/.mim/configs/folder/name.py`` of the
    imported package, so it also works for editable installs, whose
    metadata mmengine's ``get_config`` looks for in ``site-packages``.
    """
    if '::' not in path:
        return Config.fromfile(path)
    package, rel = path.split('::', 1)
    root = osp.dirname(importlib.import_module(package).__file__)
    return Config.fromfile(osp.join(root, '.mim', 'configs', rel))
