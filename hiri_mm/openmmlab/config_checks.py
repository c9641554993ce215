"""Consistency checks between a detector config and its HIRI-ViT backbone.

A stride that disagrees with the feature map it describes does not crash:
the detector trains, badly. :func:`stride_problems` derives every level's
stride from the backbone's own ``out_strides`` and the FPN's settings and
lists each field of the heads that says otherwise.
"""
from typing import Any, List

from mmengine.config import Config, ConfigDict

from ..models import HIRIViT

# mmdet's RoI extractors map an RoI of side `finest_scale` to the finest
# level; its default 56 goes with a stride-4 finest level.
FINEST_SCALE_PER_STRIDE = 56 // 4


def fpn_strides(backbone: HIRIViT, neck: ConfigDict) -> List[int]:
    """Strides of an FPN's outputs over ``backbone``'s outputs."""
    start, end = neck.get('start_level', 0), neck.get('end_level', -1)
    strides = list(backbone.out_strides[start:None if end == -1 else end + 1])
    while len(strides) < neck.num_outs:
        strides.append(strides[-1] * 2)
    return strides


def walk_dicts(node: Any, path: str = 'model'):
    """Yield ``(path, dict)`` for every dict in a nested config."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk_dicts(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from walk_dicts(value, f'{path}[{i}]')


def stride_problems(cfg: Config) -> List[str]:
    """Every stride-bearing field of ``cfg.model`` that disagrees with the
    backbone; an empty list when the config is consistent."""
    model = cfg.model
    backbone = HIRIViT(**{k: v for k, v in model.backbone.items()
                          if k not in ('type', '_delete_', 'init_cfg')})
    neck = model.neck
    problems = []
    if list(neck.in_channels) != list(backbone.out_channels):
        problems.append(f'model.neck.in_channels {list(neck.in_channels)} != '
                        f'backbone out_channels {list(backbone.out_channels)}')
    levels = fpn_strides(backbone, neck)
    for path, node in walk_dicts(model):
        for key in ('anchor_generator', 'prior_generator'):
            if key in node and 'strides' in node[key]:
                strides = [s if isinstance(s, int) else s[0]
                           for s in node[key].strides]
                if strides != levels:
                    problems.append(f'{path}.{key}.strides {strides} != FPN '
                                    f'level strides {levels}')
        if 'featmap_strides' in node:
            strides = list(node.featmap_strides)
            if strides != levels[:len(strides)]:
                problems.append(f'{path}.featmap_strides {strides} != FPN '
                                f'level strides {levels[:len(strides)]}')
            finest = node.get('finest_scale', 56)
            if finest != FINEST_SCALE_PER_STRIDE * strides[0]:
                problems.append(
                    f'{path}.finest_scale {finest} != '
                    f'{FINEST_SCALE_PER_STRIDE * strides[0]} for a finest '
                    f'stride of {strides[0]}')
    pad = model.data_preprocessor.get('pad_size_divisor', 1)
    need = max(backbone.out_strides)
    if len(levels) > len(backbone.out_strides) - neck.get('start_level', 0):
        need *= 2
    if pad % need:
        problems.append(f'model.data_preprocessor.pad_size_divisor {pad} is '
                        f'not a multiple of {need}')
    return problems
