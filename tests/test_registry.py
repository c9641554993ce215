"""HIRIViT is reachable from both toolboxes' registries and from configs."""
import subprocess
import sys

import pytest
from mmengine.config import Config


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_build_through_toolbox_registry(scope, tiny_arch):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(dict(type='HIRIViT', arch=tiny_arch))
    assert type(model).__name__ == 'HIRIViT'


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
