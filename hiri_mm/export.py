"""Export a HIRI-ViT backbone to ONNX and check it against PyTorch.

Plain PyTorch: ``onnx`` and ``onnxruntime`` (``pip install hiri_mm[deploy]``)
are imported only by the functions that need them.

The graph is recorded with the TorchScript exporter
(``torch.onnx.export(..., dynamo=False)``). A trace keeps one side of every
Python branch on map sizes, and the backbone has such branches: even maps
take a faster path through the HR-blocks' upsampling, and window attention
pads only maps that windows do not tile. :func:`trace_size` therefore
picks a size whose maps are odd at every stage, where each branch takes its
general path, valid for every size; the exported graph has dynamic batch,
height and width, and :func:`compare_onnx` proves it on other sizes.

Example::

    model = load_backbone('hiri_s_backbone.pth', arch='s')
    names = export_onnx(model, 'hiri_s.onnx', (448, 448))
    diff = compare_onnx(model, 'hiri_s.onnx', [(448, 448), (517, 389)])
    assert diff.scaled < 1e-3
"""
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch

from .models import HIRIViT

__all__ = ['load_backbone', 'output_names', 'trace_size', 'export_onnx',
           'onnx_session', 'Difference', 'compare_onnx']

Size = Tuple[int, int]
INPUT_NAME = 'input'
# The TorchScript exporter needs opset 14 for scaled_dot_product_attention.
MIN_OPSET = 14


def load_backbone(checkpoint: str,
                  arch: Union[str, dict] = 's',
                  window_sizes: Optional[Sequence[Optional[int]]] = None,
                  deploy: bool = True) -> HIRIViT:
    """A :class:`HIRIViT` with the weights of a backbone checkpoint, in eval
    mode.

    Args:
        checkpoint: A file of ``tools/convert_checkpoint.py``
            (``{'state_dict': ...}``), read with ``weights_only=True``.
        arch: The arch the weights were trained with.
        window_sizes: Window sides of stages 4 and 5 (None: global
            attention); None keeps the model's default.
        deploy: Fold the BatchNorms (``switch_to_deploy``).

    Raises:
        KeyError: The file holds no ``state_dict``.
        ValueError: The weights do not fit ``arch``. The output norms that
            classification does not train (``norm1``-``norm3``) may be
            missing; they keep their initialisation.
    """
    kwargs = {} if window_sizes is None else dict(
        window_sizes=tuple(window_sizes))
    model = HIRIViT(arch, **kwargs)
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise KeyError(f'{checkpoint} has no "state_dict": write backbone '
                       f'checkpoints with tools/convert_checkpoint.py')
    try:
        result = model.load_state_dict(ckpt['state_dict'], strict=False)
    except RuntimeError as e:
        raise ValueError(f'The weights of {checkpoint} do not fit HIRIViT '
                         f'arch {arch!r}: pass the arch they were trained '
                         f'with. {e}') from None
    output_norms = tuple(f'norm{i}.' for i in model.out_indices)
    wrong = [k for k in result.missing_keys if not k.startswith(output_norms)]
    if wrong or result.unexpected_keys:
        raise ValueError(f'The weights of {checkpoint} do not match HIRIViT '
                         f'arch {arch!r}: missing {wrong[:5]}, unexpected '
                         f'{result.unexpected_keys[:5]}')
    model.eval()
    return model.switch_to_deploy() if deploy else model


def output_names(model: HIRIViT) -> List[str]:
    """``stage<n>`` for each returned map, stages numbered 1-5 as in the
    paper (the default ``out_indices`` give ``stage2`` ... ``stage5``)."""
    return [f'stage{i + 1}' for i in model.out_indices]


def trace_size(shape: Size) -> Size:
    """The smallest size >= ``shape`` whose maps are odd at every stage.

    The stem and each stage halve a side ``s`` to ``ceil(s / 2)``; a stride-4
    map of side ``32k + 1`` stays odd through all five stages, so the input
    side is ``128k + 4``. Even window sides never tile such maps; an odd
    one can (7 tiles 21), and :func:`compare_onnx` at a second size then
    shows the graph is not general.
    """
    return tuple(128 * -(-(s - 4) // 128) + 4 if s > 4 else 4
                 for s in shape)


def export_onnx(model: HIRIViT, path: str, shape: Size,
                opset: int = 17) -> List[str]:
    """Write ``model`` as an ONNX graph with dynamic batch, height and
    width.

    Args:
        model: The backbone, in eval mode (deploy-folded or not).
        path: The ``.onnx`` file to write.
        shape: (H, W) the graph is meant for; it is traced at
            :func:`trace_size` ``(shape)``.
        opset: ONNX opset, at least 14.

    Returns:
        The output names, one per returned map (:func:`output_names`).

    Shape:
        input (B, in_channels, H, W) -> ``stage<n>`` (B, C_n, ceil(H/s_n),
        ceil(W/s_n)) for each returned stage.
    """
    if opset < MIN_OPSET:
        raise ValueError(f'opset {opset} cannot express scaled dot-product '
                         f'attention: use --opset {MIN_OPSET} or higher')
    if model.training:
        raise ValueError('export_onnx needs the model in eval mode: call '
                         'model.eval() or switch_to_deploy() first')
    names = output_names(model)
    axes: Dict[str, Dict[int, str]] = {
        INPUT_NAME: {0: 'batch', 2: 'height', 3: 'width'}}
    for name in names:
        axes[name] = {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'}
    x = torch.zeros(1, model.in_channels, *trace_size(shape))
    with warnings.catch_warnings():
        # Expected: the trace keeps the general side of the size branches,
        # and the TorchScript exporter announces its deprecation.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(model, (x, ), path, dynamo=False,
                          opset_version=opset, input_names=[INPUT_NAME],
                          output_names=names, dynamic_axes=axes)
    return names


def onnx_session(path: str, threads: int = 0):
    """An ``onnxruntime.InferenceSession`` of ``path`` on the CPU (``threads``
    0: onnxruntime's default)."""
    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(path, options,
                                providers=['CPUExecutionProvider'])


class Difference(NamedTuple):
    """How far an ONNX graph's outputs are from PyTorch's.

    Attributes:
        abs: The largest absolute difference over all outputs.
        scaled: The largest absolute difference of each output divided by
            ``max(1, largest |value| of that output)``: absolute for maps of
            values within [-1, 1], relative beyond (float32 rounding of an
            untrained model's large activations is no export error).
    """
    abs: float
    scaled: float


@torch.no_grad()
def compare_onnx(model: HIRIViT, path: str, shapes: Sequence[Size],
                 batch: int = 1, seed: int = 0) -> Difference:
    """Compare the outputs of ``model`` and of the ONNX graph at ``path`` on
    random inputs of each (H, W) in ``shapes``.

    Raises:
        ValueError: The graph returns other shapes than the model.
    """
    session = onnx_session(path)
    generator = torch.Generator().manual_seed(seed)
    worst_abs = worst_scaled = 0.
    for hw in shapes:
        x = torch.randn(batch, model.in_channels, *hw, generator=generator)
        expected = model(x)
        got = session.run(None, {INPUT_NAME: x.numpy()})
        for name, ref, out in zip(output_names(model), expected, got):
            if tuple(ref.shape) != out.shape:
                raise ValueError(f'{path}: output {name} at input {hw} has '
                                 f'shape {out.shape}, PyTorch gives '
                                 f'{tuple(ref.shape)}')
            diff = (torch.from_numpy(out) - ref).abs().max().item()
            scale = max(1., ref.abs().max().item())
            worst_abs = max(worst_abs, diff)
            worst_scaled = max(worst_scaled, diff / scale)
    return Difference(worst_abs, worst_scaled)
