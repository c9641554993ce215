"""Parameter and FLOP counting on top of ``mmengine.analysis``.

mmengine's counter has no handle for ``aten::scaled_dot_product_attention``
and counts it as 0. :func:`sdpa_flop_jit` supplies one; FLOPs here are
multiply-adds, the unit of the paper's "GFLOPs". Every count also says how
much of it is attention matmuls (``q @ k^T`` and ``attn @ v`` inside
scaled-dot-product attention), so that numbers can be compared with
counters that leave attention out. Parameters are counted by
``mmengine.analysis.parameter_count``.
"""
from typing import Any, Dict, List, NamedTuple, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

SDPA_OP = 'aten::scaled_dot_product_attention'


class Complexity(NamedTuple):
    """Counts of one model or submodule.

    Attributes:
        params: Parameters.
        flops: Multiply-adds of one forward, attention matmuls included.
        attention_flops: The part of ``flops`` spent in scaled-dot-product
            attention (``flops - attention_flops`` is what counters without
            an attention handle report).
    """
    params: int
    flops: int
    attention_flops: int


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
    analyzer.set_op_handle(SDPA_OP, sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    return analyzer


def _attention_part(counts: Dict[str, int]) -> int:
    return counts.get(SDPA_OP.split('::')[-1], 0)


@torch.no_grad()
def backbone_complexity(model: nn.Module,
                        input_shape: Sequence[int]) -> Tuple[int, int]:
    """``(params, multiply-adds)`` of ``model`` on one (C, H, W) input
    (:func:`complexity_by_module` also gives the attention part)."""
    whole = complexity_by_module(model, (torch.zeros(1, *input_shape), ),
                                 [''])['']
    return whole.params, whole.flops


@torch.no_grad()
def complexity_by_module(model: nn.Module, inputs: Tuple[Any, ...],
                         names: Sequence[str]) -> Dict[str, Complexity]:
    """``{name: Complexity}`` of submodules of ``model``, from one eval-mode
    trace of ``model(*inputs)``.

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
    by_op = flop_analyzer(model, inputs).by_module_and_operator()
    model.train(was_training)
    params = parameter_count(model)
    return {
        n: Complexity(params[n], sum(by_op[n].values()),
                      _attention_part(by_op[n]))
        for n in names
    }
