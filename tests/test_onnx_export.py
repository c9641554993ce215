"""ONNX export (hiri_mm.export, tools/deployment/export_onnx.py): a backbone
checkpoint becomes a graph with named outputs and dynamic sizes whose
onnxruntime outputs match PyTorch; the tool fails on a mismatch."""
import copy
import json
import math

import pytest
import torch

from hiri_mm import HIRIViT
from hiri_mm import export
from tests.helpers import TINY_ARCH

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

SHAPE = (64, 96)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A tiny backbone checkpoint as tools/convert_checkpoint.py writes it,
    with BatchNorm statistics that are not the identity (so that folding
    them matters)."""
    model = HIRIViT(TINY_ARCH)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(arch='tiny')),
               path)
    return str(path)


def _tool(checkpoint, out, *extra):
    from tools.deployment.export_onnx import main
    return main(['--checkpoint', checkpoint, '--arch', json.dumps(TINY_ARCH),
                 '--shape', *map(str, SHAPE), '--out', str(out), *extra])


@pytest.mark.parametrize('deploy', [True, False], ids=['deploy', 'eager'])
def test_onnxruntime_matches_pytorch_at_other_sizes_and_batches(
        checkpoint, tmp_path, deploy):
    model = export.load_backbone(checkpoint, TINY_ARCH, deploy=deploy)
    path = str(tmp_path / 'tiny.onnx')
    export.export_onnx(model, path, SHAPE)
    # Even, odd and mixed sizes take different branches in PyTorch.
    sizes = [SHAPE, (77, 45), (72, 40), (33, 200)]
    assert export.compare_onnx(model, path, sizes, batch=2).scaled < 1e-5


def test_graph_names_its_outputs_by_stage_with_dynamic_axes(checkpoint,
                                                            tmp_path):
    model = export.load_backbone(checkpoint, TINY_ARCH)
    path = str(tmp_path / 'tiny.onnx')
    assert export.export_onnx(model, path, SHAPE) == [
        'stage2', 'stage3', 'stage4', 'stage5']
    graph = onnx.load(path).graph
    assert [o.name for o in graph.output] == [
        'stage2', 'stage3', 'stage4', 'stage5']
    dims = [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ['batch', '', 'height', 'width']


def test_tool_reports_a_difference_within_tolerance(checkpoint, tmp_path,
                                                    capsys):
    diff = _tool(checkpoint, tmp_path / 'tiny.onnx')
    assert 0 <= diff.scaled <= diff.abs and diff.scaled < 1e-5
    printed = capsys.readouterr().out
    assert 'stage2, stage3, stage4, stage5' in printed
    assert f'max abs difference {diff.abs:.2e}' in printed
    assert '64x96 and' in printed


def test_differences_of_large_outputs_are_relative(checkpoint, tmp_path):
    # Float32 rounding of an untrained model's large activations is no
    # export error: the scaled difference divides by the magnitude.
    model = export.load_backbone(checkpoint, TINY_ARCH)
    with torch.no_grad():
        model.norm2.weight.mul_(1e4)
    path = str(tmp_path / 'large.onnx')
    export.export_onnx(model, path, SHAPE)
    diff = export.compare_onnx(model, path, [SHAPE])
    assert diff.scaled < 1e-6 < diff.abs


def test_tool_exits_non_zero_when_the_graph_differs(checkpoint, tmp_path,
                                                    monkeypatch):
    from tools.deployment import export_onnx as tool

    def export_changed_weights(model, path, shape, opset):
        changed = copy.deepcopy(model)
        weight = next(p for n, p in changed.named_parameters()
                      if n.startswith('stages.3.'))
        with torch.no_grad():
            weight.add_(0.5)
        return export.export_onnx(changed, path, shape, opset)

    monkeypatch.setattr(tool, 'export_onnx', export_changed_weights)
    with pytest.raises(SystemExit, match='differs from PyTorch by'):
        _tool(checkpoint, tmp_path / 'tiny.onnx')


def test_trace_size_keeps_every_stage_map_odd():
    for side in (1, 4, 5, 64, 132, 448, 1600, 2666):
        traced = export.trace_size((side, side))[0]
        assert side <= traced < side + 128
        maps = [math.ceil(traced / 4)]
        for _ in range(4):
            maps.append(math.ceil(maps[-1] / 2))
        assert all(m % 2 for m in maps), (side, maps)


def test_low_opset_and_training_mode_are_refused(tmp_path):
    model = HIRIViT(TINY_ARCH)
    with pytest.raises(ValueError, match='eval mode'):
        export.export_onnx(model, str(tmp_path / 'x.onnx'), SHAPE)
    with pytest.raises(ValueError, match='--opset 14'):
        export.export_onnx(model.eval(), str(tmp_path / 'x.onnx'), SHAPE,
                           opset=13)


def test_checkpoint_errors_name_the_fix(checkpoint, tmp_path):
    bare = tmp_path / 'bare.pth'
    torch.save(HIRIViT(TINY_ARCH).state_dict(), bare)
    with pytest.raises(KeyError, match='convert_checkpoint'):
        export.load_backbone(str(bare), TINY_ARCH)
    with pytest.raises(ValueError, match="do not fit HIRIViT arch 's'"):
        export.load_backbone(checkpoint, 's')


def test_windowed_attention_exports_for_sizes_windows_do_not_tile(
        checkpoint, tmp_path):
    # Stage 4 of the tiny arch is 4x4 at 128x128: 2x2 windows tile it,
    # 3x3 windows pad it; stage 5 stays global.
    model = export.load_backbone(checkpoint, TINY_ARCH,
                                 window_sizes=(3, None))
    path = str(tmp_path / 'windowed.onnx')
    export.export_onnx(model, path, (128, 128))
    sizes = [(128, 128), (96, 96), (200, 136)]
    assert export.compare_onnx(model, path, sizes, batch=2).scaled < 1e-5
