"""HIRIViT is reachable from both toolboxes' registries and from configs,
and the package keeps its layers: the core runs without OpenMMLab, the
library raises exceptions (only tools/ exit), tools import public names
only, and no module but the backbone's is over 450 lines."""
import ast
import glob
import importlib
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE_FILES = sorted(glob.glob(osp.join(ROOT, 'hiri_mm', '**', '*.py'),
                                 recursive=True))
BACKBONE_FILE = osp.join(ROOT, 'hiri_mm', 'models', 'backbones',
                         'hiri_vit.py')
THIN_TOOLS = ['train.py', 'test.py', 'demo.py', 'convert_checkpoint.py',
              'analysis/check_dataset.py', 'analysis/collect_results.py']


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_build_through_toolbox_registry(scope, tiny_arch):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(dict(type='HIRIViT', arch=tiny_arch))
    assert type(model).__name__ == 'HIRIViT'


@pytest.mark.slow
@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_custom_imports_in_a_config_registers_the_backbone(scope, tmp_path):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        "custom_imports = dict(imports=['hiri_mm'], "
        "allow_failed_imports=False)\n"
        "backbone = dict(type='HIRIViT', arch='s')\n")
    # A fresh interpreter: nothing imported hiri_mm before the config.
    code = (
        'from mmengine.config import Config\n'
        f'from {scope}.registry import MODELS\n'
        f'cfg = Config.fromfile({str(cfg_file)!r})\n'
        'print(type(MODELS.build(cfg.backbone)).__name__)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip().endswith('HIRIViT')
    assert Config.fromfile(str(cfg_file)).backbone.arch == 's'


_BLOCK = '''
import importlib.abc, sys
class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ModuleNotFoundError(f'No module named {{name!r}} (blocked)',
                                      name=name)
sys.meta_path.insert(0, _Blocked())
'''


def _run_blocked(blocked, code):
    return subprocess.run(
        [sys.executable, '-c', _BLOCK.format(blocked=set(blocked)) + code],
        capture_output=True, text=True)


@pytest.mark.slow
def test_core_imports_and_runs_with_torch_and_timm_alone():
    out = _run_blocked(
        {'mmengine', 'mmcv', 'mmdet', 'mmseg'},
        'import sys, timm, torch\n'
        'import hiri_mm\n'
        'from hiri_mm import HIRIViT\n'
        'model = timm.create_model("hiri_vit_s", num_classes=3).eval()\n'
        'assert model(torch.randn(1, 3, 64, 64)).shape == (1, 3)\n'
        'HIRIViT("s").switch_to_deploy()(torch.randn(1, 3, 64, 64))\n'
        'assert not any(m.split(".")[0] in {"mmengine", "mmcv", "mmdet", '
        '"mmseg"} for m in sys.modules)\n'
        'print("core ok")\n')
    assert out.returncode == 0, out.stderr
    assert 'core ok' in out.stdout


@pytest.mark.slow
def test_a_detection_only_user_needs_no_mmseg():
    out = _run_blocked(
        {'mmseg'},
        'from mmengine.config import Config\n'
        'from mmdet.registry import MODELS\n'
        'from mmengine.registry import init_default_scope\n'
        'import hiri_mm\n'
        'init_default_scope("mmdet")\n'
        'cfg = Config.fromfile("configs/detection/retinanet_hiri_s_1x.py")\n'
        'print(type(MODELS.build(cfg.model).backbone).__name__)\n')
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith('HIRIViT')


def _tree(path):
    with open(path) as f:
        return ast.parse(f.read(), path)


def test_the_library_raises_no_system_exit():
    for path in PACKAGE_FILES:
        tree = _tree(path)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        exits = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                 and n.attr == 'exit' and getattr(n.value, 'id', '') == 'sys']
        assert 'SystemExit' not in names and not exits, path


def test_no_module_but_the_backbone_is_over_450_lines():
    for path in PACKAGE_FILES:
        if path != BACKBONE_FILE:
            with open(path) as f:
                assert len(f.readlines()) <= 450, path


@pytest.mark.parametrize('tool', THIN_TOOLS)
def test_tools_import_only_public_names(tool):
    imported = [(node.module, alias.name)
                for node in ast.walk(_tree(osp.join(ROOT, 'tools', tool)))
                if isinstance(node, ast.ImportFrom) and node.module
                and node.module.split('.')[0] == 'hiri_mm'
                for alias in node.names]
    assert imported
    for module, name in imported:
        assert name in importlib.import_module(module).__all__, \
            f'{tool} imports {name} from {module}, which does not export it'
