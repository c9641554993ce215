"""Print parameters and GFLOPs (multiply-adds) of HIRI-ViT backbones.

Examples:
    python tools/analysis/get_flops.py --arch s b l --shape 224 448
    python tools/analysis/get_flops.py --config configs/detection/maskrcnn_hiri_s_1x.py --shape 800 1333

With ``--config`` the count covers the backbone and neck of the config's
model (``extract_feat``), the part that depends on the input size alone.
Attention is counted too (mmengine's counter alone counts it as 0).
"""
import argparse
from typing import List, Sequence

import torch.nn as nn

import hiri_mm
from hiri_mm.openmmlab.analysis import backbone_complexity


class FeatureExtractor(nn.Module):
    """Run a detector/segmentor's ``extract_feat`` as a plain module."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.extract_feat(x)


def parse_args(argv: Sequence[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--arch', nargs='+', default=['s', 'b', 'l'],
                       help='HIRIViT arch names')
    group.add_argument('--config', help='a detection/segmentation config')
    parser.add_argument('--shape', nargs='+', type=int, default=[448],
                        help='input sizes: one value is a square side; two '
                        'values are one H W pair when --config is given, '
                        'otherwise two square sides')
    return parser.parse_args(argv)


def _shapes(args: argparse.Namespace) -> List[tuple]:
    if args.config and len(args.shape) == 2:
        return [tuple(args.shape)]
    return [(s, s) for s in args.shape]


def _config_model(path: str) -> nn.Module:
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    registry = SEG_MODELS if scope == 'mmseg' else DET_MODELS
    return FeatureExtractor(registry.build(cfg.model))


def main(argv: Sequence[str] = None) -> List[dict]:
    args = parse_args(argv)
    if args.config:
        models = {args.config: _config_model(args.config)}
    else:
        models = {f'HIRI-ViT-{a.upper()}': hiri_mm.HIRIViT(arch=a)
                  for a in args.arch}
    rows = []
    print('| model | input | params (M) | GFLOPs |')
    print('|---|---|---|---|')
    for name, model in models.items():
        for h, w in _shapes(args):
            params, flops = backbone_complexity(model, (3, h, w))
            rows.append(dict(model=name, input=(h, w), params=params,
                             flops=flops))
            print(f'| {name} | {h}x{w} | {params / 1e6:.2f} | '
                  f'{flops / 1e9:.2f} |')
    return rows


if __name__ == '__main__':
    main()
