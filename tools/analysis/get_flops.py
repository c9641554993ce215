"""Print parameters and GFLOPs (multiply-adds) of HIRI-ViT backbones, or of
the backbone, the neck and the whole model of a detection or segmentation
config.

Examples:
    python tools/analysis/get_flops.py --arch s b l --shape 224 448
    python tools/analysis/get_flops.py --arch s --shape 448 768 --classifier
    python tools/analysis/get_flops.py --config configs/detection/maskrcnn_hiri_s_1x.py --shape 1600 2560

Counts come from ``mmengine.analysis`` (``FlopAnalyzer`` with a handle for
scaled-dot-product attention, which it would count as 0, and
``parameter_count``). ``--classifier`` counts timm's ``hiri_vit_<arch>``
(1000 classes) instead of the bare backbone. With ``--config`` the model is traced once in the
toolboxes' ``tensor`` mode (``model._forward``: the backbone, the neck and
the heads' raw outputs; for two-stage detectors the RPN proposals at the
config's test settings), and each labelled row is a part of that trace.
mmcv's compiled ops (RoIAlign, NMS) count 0, as in mmdet's own tool. The
input is one image of H x W (already padded): by default a segmentor's crop
size, else 1600 x 2560, twice the 800 x 1280 at which mmdet and Swin report
detector FLOPs.
"""
import argparse
from typing import List, Optional, Sequence, Tuple

import timm
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.structures import BaseDataElement, InstanceData

import hiri_mm
from hiri_mm.openmmlab.analysis import (backbone_complexity,
                                        complexity_by_module)
from hiri_mm.openmmlab.mim import read_config

DETECTOR_SHAPE = (1600, 2560)


class TensorForward(nn.Module):
    """``model._forward(inputs, data_samples)`` with fixed data samples, as a
    module that ``torch.jit`` can trace (tensor in, tensors out)."""

    def __init__(self, model: nn.Module,
                 data_samples: List[BaseDataElement]) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor):
        return self.model._forward(inputs, self.data_samples)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--arch', nargs='+', default=['s', 'b', 'l'],
                       help='HIRIViT arch names')
    group.add_argument('--config',
                       help='a detection/segmentation config (a path or '
                       'hiri_mm::detection/NAME.py)')
    parser.add_argument('--classifier', action='store_true',
                        help='with --arch: count the timm classifier '
                        'hiri_vit_<arch> (1000 classes), not the backbone')
    parser.add_argument('--shape', nargs='+', type=int,
                        help='input sizes. With --arch: square sides '
                        '(default 448). With --config: H W, or one side '
                        '(default: the crop size of a segmentor, else '
                        f'{DETECTOR_SHAPE[0]} {DETECTOR_SHAPE[1]})')
    args = parser.parse_args(argv)
    if args.config and args.shape and len(args.shape) > 2:
        parser.error('--config takes one --shape: H W or a single side')
    if args.config and args.classifier:
        parser.error('--classifier goes with --arch')
    return args


def config_shape(cfg: Config, shape: Optional[List[int]]) -> Tuple[int, int]:
    """The (H, W) to count a config's model at."""
    if shape:
        return (shape[0], shape[-1])
    crop = cfg.model.get('data_preprocessor', {}).get('size')
    return tuple(crop) if crop else DETECTOR_SHAPE


def config_rows(path: str, shape: Optional[List[int]]) -> List[dict]:
    """Backbone, neck (where the model has one) and whole-model counts."""
    cfg = read_config(path)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    # Initialised as for training: some heads' tensor mode needs sane
    # weights (Sparse R-CNN's learnt proposal boxes).
    model.init_weights()
    h, w = config_shape(cfg, shape)
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                batch_input_shape=(h, w), scale_factor=(1., 1.))
    # Image meta for the heads; empty ground truth for heads whose tensor
    # mode unpacks it (Sparse R-CNN).
    sample = BaseDataElement(
        metainfo=meta,
        gt_instances=InstanceData(bboxes=torch.zeros(0, 4),
                                  labels=torch.zeros(0, dtype=torch.long)))
    traced = TensorForward(model, [sample])
    parts = {'backbone': 'model.backbone', 'neck': 'model.neck',
             'whole model': 'model'}
    if getattr(model, 'neck', None) is None:
        del parts['neck']
    counts = complexity_by_module(traced, (torch.zeros(1, 3, h, w), ),
                                  list(parts.values()))
    name = path.split('/')[-1].rsplit('.', 1)[0]
    return [dict(model=name, input=(h, w), part=part,
                 params=counts[key][0], flops=counts[key][1])
            for part, key in parts.items()]


def arch_rows(archs: Sequence[str], sides: Sequence[int],
              classifier: bool = False) -> List[dict]:
    """Counts of each arch's backbone (or timm classifier) at each square
    side."""
    rows = []
    for arch in archs:
        if classifier:
            model = timm.create_model(f'hiri_vit_{arch}')
            name = f'hiri_vit_{arch}'
        else:
            model = hiri_mm.HIRIViT(arch=arch)
            name = f'HIRI-ViT-{arch.upper()}'
        for side in sides:
            params, flops = backbone_complexity(model, (3, side, side))
            rows.append(dict(model=name, input=(side, side), params=params,
                             flops=flops))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    if args.config:
        rows = config_rows(args.config, args.shape)
        print('| model | input | part | params (M) | GFLOPs |')
        print('|---|---|---|---|---|')
    else:
        rows = arch_rows(args.arch, args.shape or [448], args.classifier)
        print('| model | input | params (M) | GFLOPs |')
        print('|---|---|---|---|')
    for row in rows:
        part = f" {row['part']} |" if 'part' in row else ''
        h, w = row['input']
        print(f"| {row['model']} | {h}x{w} |{part} "
              f"{row['params'] / 1e6:.2f} | {row['flops'] / 1e9:.2f} |")
    return rows


if __name__ == '__main__':
    main()
