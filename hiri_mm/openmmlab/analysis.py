"""Parameter and FLOP counting on top of ``mmengine.analysis``.

mmengine's counter has no handle for ``aten::scaled_dot_product_attention``
and counts it as 0. :func:`sdpa_flop_jit` supplies one; FLOPs here are
multiply-adds, the unit of the paper's "GFLOPs". Parameters are counted by
``mmengine.analysis.parameter_count``.
"""
from typing import Any, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-adds of ``scaled_dot_product_attention(q, k, v)``.

    With q (..., L, E), k (..., S, E) and v (..., S, Ev): ``q @ k^T`` costs
    ``L*S*E`` per batch-head and ``attn @ v`` costs ``L*S*Ev``.
    """
    q, k, v = (get_shape(t) for t in inputs[:3])
    batch_heads = 1
    for d in q[:-2]:
        batch_heads *= d
    length, embed = q[-2:]
    source = k[-2]
    return batch_heads * length * source * (embed + v[-1])


def flop_analyzer(model: nn.Module, inputs: Tuple[Any, ...]) -> FlopAnalyzer:
    """A FlopAnalyzer that also counts scaled-dot-product attention."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention',
                           sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


@torch.no_grad()
def backbone_complexity(model: nn.Module,
                        input_shape: Sequence[int]) -> Tuple[int, int]:
    """``(params, multiply-adds)`` of ``model`` on one (C, H, W) input."""
    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_shape)
    flops = flop_analyzer(model, (x, )).total()
    model.train(was_training)
    return parameter_count(model)[''], flops


@torch.no_grad()
def complexity_by_module(model: nn.Module, inputs: Tuple[Any, ...],
                         names: Sequence[str]) -> Dict[str, Tuple[int, int]]:
    """``{name: (params, multiply-adds)}`` of submodules of ``model``, from
    one eval-mode trace of ``model(*inputs)``.

    Args:
        model: the module to trace.
        inputs: its positional inputs.
        names: submodule names as in ``model.named_modules()``; ``''`` is
            the whole model. A submodule that the trace does not reach
            counts 0 FLOPs.

    Raises:
        KeyError: a name that is no submodule of ``model``.
    """
    modules = dict(model.named_modules())
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise KeyError(f'{type(model).__name__} has no submodule(s) '
                       f'{unknown}')
    was_training = model.training
    model.eval()
    flops = flop_analyzer(model, inputs).by_module()
    model.train(was_training)
    params = parameter_count(model)
    return {n: (params[n], flops[n]) for n in names}
