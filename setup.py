"""Build and install hiri_mm.

The core (``hiri_mm.models``) needs only torch and timm. The OpenMMLab
adapter needs the toolboxes: ``pip install .[mmdet]``, ``.[mmseg]`` or
``.[all]``; ``.[deploy]`` adds ONNX export (onnx, onnxruntime) and
``.[mim]`` the ``mim`` command line. ``requirements.txt`` holds the pinned
stack that this repository was verified with (``tools/setup_env.sh``).

Like mmdet and mmseg, the package carries its configs, its tools and
``model-index.yml`` in ``hiri_mm/.mim``, where ``mim`` and mmengine's
``hiri_mm::`` config paths look for them: copied into the build directory
when a wheel is built (in a build folder outside the checkout, which is
left as it is), symbolic links into
the repository for an editable install, so that the repository stays the
only copy one edits.
"""
import ast
import getpass
import os
import os.path as osp
import shutil
import sys
import tempfile
from typing import Dict, List

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
MIM_DIR = osp.join(ROOT, 'hiri_mm', '.mim')
# Repository paths shipped under hiri_mm/.mim, in mmdet's layout.
MIM_FILES = ('configs', 'tools', 'model-index.yml')
# setuptools builds in <checkout>/build by default: build outside the
# checkout, so that `pip install .` leaves no build/ folder behind.
BUILD_BASE = osp.join(tempfile.gettempdir(),
                      f'hiri_mm-build-{getpass.getuser()}')

CORE_REQUIRES = ['torch>=2.1', 'timm>=1.0']
OPENMMLAB_REQUIRES = ['mmengine>=0.10,<0.11', 'mmcv>=2.0,<2.2']
EXTRAS_REQUIRE: Dict[str, List[str]] = {
    'mmdet': OPENMMLAB_REQUIRES + ['mmdet>=3.3,<3.4', 'pycocotools'],
    # mmseg imports ftfy and regex but does not declare them.
    'mmseg': OPENMMLAB_REQUIRES + ['mmsegmentation>=1.2,<1.3', 'ftfy',
                                   'regex'],
}
EXTRAS_REQUIRE['all'] = sorted(
    set(EXTRAS_REQUIRE['mmdet']) | set(EXTRAS_REQUIRE['mmseg']))
# tools/deployment/export_onnx.py and the benchmark's onnxruntime rows.
EXTRAS_REQUIRE['deploy'] = ['onnx>=1.16', 'onnxruntime>=1.18']
# ``mim search hiri_mm``. openmim takes any opendatalab; from 0.0.10 that
# pulls openxlab, which pins setuptools 60 and packaging 24 (torch needs
# setuptools >= 77), so the extra keeps opendatalab below it. mim imports
# pkg_resources, which setuptools 81 removed.
EXTRAS_REQUIRE['mim'] = ['openmim>=0.3.9', 'opendatalab<0.0.10',
                         'setuptools>=77,<81']


def read_version() -> str:
    """``__version__`` of hiri_mm/__init__.py, read without importing it
    (importing needs torch, which may not be installed yet)."""
    with open(osp.join(ROOT, 'hiri_mm', '__init__.py')) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '__version__' for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError('hiri_mm/__init__.py defines no __version__')


def copy_mim_files(dst_dir: str) -> None:
    """Copy :data:`MIM_FILES` from the repository into ``dst_dir``."""
    os.makedirs(dst_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(ROOT, name)
        dst = osp.join(dst_dir, name)
        if not osp.exists(src):
            raise FileNotFoundError(f'{src} is missing: hiri_mm/.mim needs it')
        if osp.isdir(src):
            shutil.copytree(src, dst,
                            ignore=shutil.ignore_patterns('__pycache__',
                                                          '*.pyc'))
        else:
            shutil.copyfile(src, dst)


def link_mim_files() -> None:
    """Fill ``hiri_mm/.mim`` of the checkout with relative symbolic links
    to :data:`MIM_FILES` (editable installs)."""
    os.makedirs(MIM_DIR, exist_ok=True)
    for name in MIM_FILES:
        dst = osp.join(MIM_DIR, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        os.symlink(osp.relpath(osp.join(ROOT, name), MIM_DIR), dst)


class BuildPyWithMim(build_py):
    """``build_py`` that writes ``hiri_mm/.mim`` into the build directory
    as copies of the repository files; an editable build links them into
    the checkout instead."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            link_mim_files()
        else:
            # A fresh copy: files removed from the repository since the
            # last build must not linger in build/.
            target = osp.join(self.build_lib, 'hiri_mm', '.mim')
            shutil.rmtree(target, ignore_errors=True)
            copy_mim_files(target)


if __name__ == '__main__':
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        long_description = f.read()
    setup(
        name='hiri_mm',
        version=read_version(),
        description='HIRI-ViT backbones for timm, MMDetection 3.x and '
        'MMSegmentation 1.x',
        long_description=long_description,
        long_description_content_type='text/markdown',
        license='Apache-2.0',
        license_files=['LICENSE'],
        packages=find_packages(include=['hiri_mm', 'hiri_mm.*']),
        cmdclass={'build_py': BuildPyWithMim},
        options={'build': {'build_base': BUILD_BASE}},
        python_requires='>=3.9',
        install_requires=CORE_REQUIRES,
        extras_require=EXTRAS_REQUIRE,
        zip_safe=False,
    )
