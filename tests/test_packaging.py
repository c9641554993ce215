"""Packaging: setup.py's requirements, the mim files (hiri_mm/.mim,
model-index.yml, one metafile.yml and README.md per config folder),
``hiri_mm::`` config paths, and a wheel installed into a fresh virtual
environment (``mim search``, ``hiri_mm::`` configs)."""
import argparse
import glob
import os
import os.path as osp
import runpy
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest
import yaml
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.hub import get_config
from mmengine.registry import MODELS, init_default_scope

import hiri_mm
from hiri_mm.openmmlab.mim import read_config
from hiri_mm.openmmlab.cli import load_config
from tests.helpers import config_copy

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Folders of runnable configs; configs/_base_ holds only shared pieces.
CONFIG_DIRS = sorted(d for d in glob.glob(osp.join(ROOT, 'configs', '*'))
                     if osp.isdir(d) and osp.basename(d) != '_base_')
METAFILES = sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml')))
# What each metafile model records, measured with tools/analysis/get_flops.py.
MEASURED = ('Parameters (M)', 'FLOPs (G)', 'FLOPs Input')


def _requirement_names(requirements):
    return {r.split('>')[0].split('<')[0].split('=')[0] for r in requirements}


def test_setup_declares_a_torch_and_timm_core_and_toolbox_extras():
    setup = runpy.run_path(osp.join(ROOT, 'setup.py'), run_name='setup')
    assert _requirement_names(setup['CORE_REQUIRES']) == {'torch', 'timm'}
    extras = {k: _requirement_names(v)
              for k, v in setup['EXTRAS_REQUIRE'].items()}
    assert extras['mmdet'] == {'mmengine', 'mmcv', 'mmdet', 'pycocotools'}
    assert extras['mmseg'] == {'mmengine', 'mmcv', 'mmsegmentation', 'ftfy',
                               'regex'}
    assert extras['all'] == extras['mmdet'] | extras['mmseg']
    assert extras['deploy'] == {'onnx', 'onnxruntime'}
    # openmim alone would pull opendatalab>=0.0.10 -> openxlab ->
    # setuptools 60, below what torch needs.
    assert 'opendatalab<0.0.10' in setup['EXTRAS_REQUIRE']['mim']
    assert 'setuptools>=77,<81' in setup['EXTRAS_REQUIRE']['mim']
    assert setup['read_version']() == hiri_mm.__version__


def test_model_index_imports_every_config_folders_metafile():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    assert sorted(imports) == [osp.relpath(m, ROOT) for m in METAFILES]
    assert [osp.dirname(m) for m in METAFILES] == CONFIG_DIRS


@pytest.mark.parametrize('metafile', METAFILES,
                         ids=lambda p: osp.basename(osp.dirname(p)))
def test_metafile_lists_every_config_with_measured_counts(metafile):
    with open(metafile) as f:
        meta = yaml.safe_load(f)
    folder = osp.dirname(metafile)
    collections = {c['Name'] for c in meta['Collections']}
    configs = sorted(osp.relpath(p, ROOT)
                     for p in glob.glob(osp.join(folder, '*.py')))
    assert sorted(m['Config'] for m in meta['Models']) == configs
    readme = open(osp.join(folder, 'README.md')).read()
    for model in meta['Models']:
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        assert model['In Collection'] in collections
        assert all(key in model['Metadata'] for key in MEASURED), model
        # The folder's README has a row and a link for every config.
        assert f'[{model["Name"]}]({model["Name"]}.py)' in readme


def test_mim_folder_serves_the_repository_files():
    # setup.py links (editable install) or copies (wheel) these into .mim.
    mim = osp.join(osp.dirname(hiri_mm.__file__), '.mim')
    for name in ('configs', 'tools', 'model-index.yml'):
        assert osp.samefile(osp.join(mim, name), osp.join(ROOT, name)), name


def test_package_config_paths_inherit_and_load(tmp_path):
    user = tmp_path / 'my_maskrcnn.py'
    user.write_text("_base_ = 'hiri_mm::detection/maskrcnn_hiri_s_1x.py'\n"
                    'model = dict(backbone=dict(drop_path_rate=0.3))\n')
    cfg = Config.fromfile(str(user))
    ours = config_copy(osp.join(ROOT, 'configs', 'detection',
                                    'maskrcnn_hiri_s_1x.py'))
    assert cfg.model.backbone.drop_path_rate == 0.3
    assert cfg.model.neck == ours.model.neck
    assert get_config('hiri_mm::segmentation/upernet_hiri_s_160k_ade20k.py'
                      ).model.backbone.type == 'HIRIViT'


def test_tools_read_package_config_paths(tmp_path):
    """The config loader of tools/train.py, test.py and check_dataset.py
    (load_config) and get_flops.py (read_config) reads package paths as
    the files they name; check_dataset.py's command line is run with one in
    test_data_check.py."""
    args = argparse.Namespace(
        config='hiri_mm::detection/maskrcnn_hiri_s_1x.py', work_dir=None,
        data_root=None, cfg_options=None, launcher='none', local_rank=0)
    cfg = load_config(args)
    ours = config_copy(osp.join(ROOT, 'configs', 'detection',
                                    'maskrcnn_hiri_s_1x.py'))
    assert cfg.model == ours.model
    assert cfg.work_dir == osp.join('./work_dirs', 'maskrcnn_hiri_s_1x')
    assert read_config('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
                       ).model.type == 'RetinaNet'
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        read_config('hiri_mm::detection/no_such_config.py')


RUN_CONFIGS = sorted(
    osp.relpath(f, osp.join(ROOT, 'configs'))
    for d in CONFIG_DIRS for f in glob.glob(osp.join(d, '*.py')))


def _classes(obj):
    """The classes of a built pipeline, nested ones included."""
    if isinstance(obj, Compose):
        return [_classes(t) for t in obj.transforms]
    if isinstance(obj, (list, tuple)):
        return [_classes(o) for o in obj]
    nested = [v for v in getattr(obj, '__dict__', {}).values()
              if isinstance(v, (Compose, list))]
    return [type(obj), *[_classes(v) for v in nested]]


def _pipelines(cfg):
    return [k for k in cfg if 'pipeline' in k]


def _built(cfg):
    """Classes of the pipelines (``train_pipeline``, ``hiri_tta_pipeline``
    ...) and TTA models a config defines, built in its toolbox's default
    scope as the Runner and tools/test.py do."""
    init_default_scope(cfg.default_scope)
    built = {name: _classes(Compose(cfg[name])) for name in _pipelines(cfg)}
    for name in (k for k in cfg if k.endswith('tta_model')):
        with MODELS.switch_scope_and_registry(
                cfg[name].get('_scope_')) as registry:
            built[name] = registry.get(cfg[name].type)
    return built


@pytest.mark.parametrize('rel', RUN_CONFIGS)
def test_inherited_config_builds_what_ours_builds(rel, tmp_path):
    # mmengine gives the objects an inherited file defines the scope
    # hiri_mm; mmdet's Resize must stay mmdet's, not mmcv's.
    user = tmp_path / 'mine.py'
    user.write_text(f"_base_ = 'hiri_mm::{rel}'\n")
    inherited = Config.fromfile(str(user))
    assert any(t.get('_scope_') == 'hiri_mm'
               for name in _pipelines(inherited) for t in inherited[name])
    ours = config_copy(osp.join(ROOT, 'configs', rel))
    built = _built(inherited)
    assert built == _built(ours)
    assert built


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """A wheel built from a copy of the repository's tracked files."""
    src = tmp_path_factory.mktemp('src')
    files = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        if osp.isfile(osp.join(ROOT, name)):
            os.makedirs(src / osp.dirname(name), exist_ok=True)
            shutil.copy(osp.join(ROOT, name), src / name)
    dist = tmp_path_factory.mktemp('dist')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                    '--no-build-isolation', '-q', '-w', str(dist), str(src)],
                   check=True, capture_output=True)
    return glob.glob(str(dist / 'hiri_mm-*.whl'))[0]


def _checkout_state():
    status = subprocess.run(['git', 'status', '--porcelain'], cwd=ROOT,
                            check=True, capture_output=True,
                            text=True).stdout
    mim = osp.join(ROOT, 'hiri_mm', '.mim')
    links = {name: os.readlink(osp.join(mim, name))
             for name in sorted(os.listdir(mim))
             if osp.islink(osp.join(mim, name))}
    # build/ is git-ignored, so git status would not show one left behind.
    return status, links, osp.exists(osp.join(ROOT, 'build'))


@pytest.mark.slow
def test_building_a_wheel_from_the_checkout_leaves_it_as_it_was(tmp_path):
    before = _checkout_state()
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                    '--no-build-isolation', '-q', '-w', str(tmp_path), ROOT],
                   check=True, capture_output=True)
    assert _checkout_state() == before
    assert set(before[1]) == {'configs', 'tools', 'model-index.yml'}
    wheel = zipfile.ZipFile(glob.glob(str(tmp_path / '*.whl'))[0])
    assert 'hiri_mm/.mim/configs/detection/maskrcnn_hiri_s_1x.py' in \
        wheel.namelist()


@pytest.mark.slow
def test_wheel_ships_configs_tools_and_model_index(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ('configs/detection/maskrcnn_hiri_s_1x.py',
                 'configs/detection/_base_/hiri_detection.py',
                 'configs/detection/metafile.yml', 'tools/train.py',
                 'tools/test.py', 'tools/dist_train.sh', 'model-index.yml'):
        assert f'hiri_mm/.mim/{path}' in names, path
    assert 'hiri_mm/registry.py' in names


@pytest.mark.slow
def test_installed_wheel_serves_mim_and_package_configs(wheel, tmp_path):
    # A fresh venv that sees this environment's packages (torch, mmdet, mim)
    # through a .pth file, with hiri_mm installed from the wheel only.
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)],
                   check=True)
    python = str(venv / 'bin' / 'python')
    site = subprocess.run([python, '-c', 'import sysconfig; print('
                           'sysconfig.get_paths()["purelib"])'], check=True,
                          capture_output=True, text=True).stdout.strip()
    with open(osp.join(site, 'outer.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    subprocess.run([sys.executable, '-m', 'pip', '--python', python,
                    'install', '--no-deps', '-q', wheel], check=True,
                   capture_output=True)
    user = tmp_path / 'my_retinanet.py'
    user.write_text("_base_ = 'hiri_mm::detection/retinanet_hiri_s_1x.py'\n")
    code = '\n'.join([
        'import hiri_mm',
        'from mmengine.config import Config',
        f'assert hiri_mm.__file__.startswith({site!r}), hiri_mm.__file__',
        f'cfg = Config.fromfile({str(user)!r})',
        'assert cfg.model.backbone.type == "HIRIViT", cfg.model.backbone',
    ])
    # Run outside the repository, so that only the installed copy is seen.
    subprocess.run([python, '-c', code], check=True, cwd=tmp_path,
                   capture_output=True)
    pytest.importorskip('mim')
    search = subprocess.run([python, '-m', 'mim', 'search', 'hiri_mm'],
                            cwd=tmp_path, check=True, capture_output=True,
                            text=True).stdout
    assert 'maskrcnn_hiri_s_1x' in search
    assert 'upernet_hiri_s_160k_ade20k' in search
