"""Build and install hiri_mm.

The core (``hiri_mm.models``) needs only torch and timm. The OpenMMLab
adapter needs the toolboxes: ``pip install .[mmdet]``, ``.[mmseg]`` or
``.[all]``. ``requirements.txt`` holds the pinned stack that this repository
was verified with (``tools/setup_env.sh``).

Like mmdet and mmseg, the package carries its configs, its tools and
``model-index.yml`` in ``hiri_mm/.mim``, where ``mim`` and mmengine's
``hiri_mm::`` config paths look for them: copied when a wheel or a source
distribution is built, symbolic links into the repository for an editable
install, so that the repository stays the only copy one edits.
"""
import ast
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
MIM_DIR = osp.join(ROOT, 'hiri_mm', '.mim')
# Repository paths shipped under hiri_mm/.mim, in mmdet's layout.
MIM_FILES = ('configs', 'tools', 'model-index.yml')

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


def add_mim_extension() -> None:
    """Fill ``hiri_mm/.mim`` with :data:`MIM_FILES` for the current build.

    Editable installs get relative symbolic links; wheels and source
    distributions get copies. Other setup commands (``egg_info``,
    ``dist_info``) leave ``.mim`` as it is. Inside an unpacked source
    distribution the repository paths are there too (MANIFEST.in), so a
    wheel built from it copies them again.
    """
    if 'editable_wheel' in sys.argv or 'develop' in sys.argv:
        mode = 'symlink'
    elif 'bdist_wheel' in sys.argv or 'sdist' in sys.argv:
        mode = 'copy'
    else:
        return
    os.makedirs(MIM_DIR, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(ROOT, name)
        dst = osp.join(MIM_DIR, name)
        if not osp.exists(src):
            raise FileNotFoundError(f'{src} is missing: hiri_mm/.mim needs it')
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, MIM_DIR), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst,
                            ignore=shutil.ignore_patterns('__pycache__',
                                                          '*.pyc'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
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
        include_package_data=True,
        package_data={'hiri_mm': ['.mim/**/*']},
        python_requires='>=3.9',
        install_requires=CORE_REQUIRES,
        extras_require=EXTRAS_REQUIRE,
        zip_safe=False,
    )
