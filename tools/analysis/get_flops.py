"""Print parameters and GFLOPs (multiply-adds) of HIRI-ViT backbones, or of
the backbone, the neck and the whole model of a detection or segmentation
config.

Examples:
    python tools/analysis/get_flops.py --arch s b l --shape 224 448
    python tools/analysis/get_flops.py --arch s --shape 448 1600x2666 --window-sizes 14 none
    python tools/analysis/get_flops.py --arch s --shape 448 768 --classifier
    python tools/analysis/get_flops.py --config configs/detection/maskrcnn_hiri_s_1x.py --shape 1600 2560 \
        --cfg-options "model.backbone.window_sizes=(14,None)"

Counts come from ``mmengine.analysis`` (``FlopAnalyzer`` with a handle for
scaled-dot-product attention, which it would count as 0, and
``parameter_count``). Two columns: GFLOPs with the attention matmuls, and
without them, as counters without an attention handle (and, most likely,
the paper's detector GFLOPs) report. ``--classifier`` counts timm's
``hiri_vit_<arch>`` (1000 classes) instead of the bare backbone. With
``--config`` the model is traced once in the toolboxes' ``tensor`` mode
(``model._forward``: the backbone, the neck and the heads' raw outputs; for
two-stage detectors the RPN proposals at the config's test settings), and
each labelled row is a part of that trace.
mmcv's compiled ops (RoIAlign, NMS) count 0, as in mmdet's own tool. The
input is one image of H x W (already padded): by default a segmentor's crop
size, else 1600 x 2560, twice the 800 x 1280 at which mmdet and Swin report
detector FLOPs. Only the table is printed; ``--verbose`` also shows the
logs and warnings of building and tracing the model.
"""
import argparse
import contextlib
import io
import logging
import warnings
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import timm
import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import MODELS, init_default_scope
from mmengine.structures import BaseDataElement, InstanceData

import hiri_mm
from hiri_mm.openmmlab.analysis import complexity_by_module
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


@contextlib.contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Silence mmengine's logger (weight initialisation reports), warnings
    and prints while a model is built and traced."""
    if not enabled:
        yield
        return
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), \
                contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter('ignore')
            yield
    finally:
        logger.setLevel(level)


def size(value: str) -> Union[int, Tuple[int, int]]:
    """A ``--shape`` entry: a side (``448``) or a size (``1600x2666``)."""
    if 'x' in value:
        h, w = value.split('x')
        return int(h), int(w)
    return int(value)


def as_size(value: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    """(H, W) of a :func:`size` entry."""
    return (value, value) if isinstance(value, int) else value


def window_size(value: str) -> Optional[int]:
    """An int window side, or ``none`` for global attention."""
    return None if value.lower() == 'none' else int(value)


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
    parser.add_argument('--shape', nargs='+', type=size,
                        help='input sizes. With --arch: square sides or HxW '
                        'sizes (default 448). With --config: H W, HxW or '
                        'one side (default: the crop size of a segmentor, '
                        f'else {DETECTOR_SHAPE[0]} {DETECTOR_SHAPE[1]})')
    parser.add_argument('--window-sizes', nargs=2, type=window_size,
                        metavar=('STAGE4', 'STAGE5'),
                        help='with --arch: attention window sides of stages '
                        '4 and 5, or none (global), e.g. 14 none')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='with --config: override settings, e.g. '
                        '"model.backbone.window_sizes=(14,None)"')
    parser.add_argument('--verbose', action='store_true',
                        help='show the logs of building and tracing')
    args = parser.parse_args(argv)
    if args.config and args.shape and (
            len(args.shape) > 2 or len(args.shape) == 2
            and not all(isinstance(v, int) for v in args.shape)):
        parser.error('--config takes one --shape: H W, HxW or a single side')
    if args.config and (args.classifier or args.window_sizes):
        parser.error('--classifier and --window-sizes go with --arch; with '
                     '--config use --cfg-options '
                     '"model.backbone.window_sizes=(14,None)"')
    if args.cfg_options and not args.config:
        parser.error('--cfg-options goes with --config')
    return args


def config_shape(cfg: Config, shape: Optional[list]) -> Tuple[int, int]:
    """The (H, W) to count a config's model at."""
    if shape:
        return as_size(shape[0]) if len(shape) == 1 else tuple(shape)
    crop = cfg.model.get('data_preprocessor', {}).get('size')
    return tuple(crop) if crop else DETECTOR_SHAPE


def config_rows(path: str, shape: Optional[list],
                options: Optional[dict] = None) -> List[dict]:
    """Backbone, neck (where the model has one) and whole-model counts of
    the config at ``path``, with ``options`` (``--cfg-options``) merged."""
    cfg = read_config(path)
    if options:
        cfg.merge_from_dict(options)
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
    return [dict(model=name, input=(h, w), part=part, **counts[key]._asdict())
            for part, key in parts.items()]


def arch_rows(archs: Sequence[str], shapes: Sequence[Tuple[int, int]],
              classifier: bool = False,
              window_sizes: Optional[Sequence[Optional[int]]] = None
              ) -> List[dict]:
    """Counts of each arch's backbone (or timm classifier) at each (H, W)."""
    kwargs = {} if window_sizes is None else dict(
        window_sizes=tuple(window_sizes))
    suffix = '' if window_sizes is None else \
        f' win({", ".join(str(w) for w in window_sizes)})'
    rows = []
    for arch in archs:
        if classifier:
            model = timm.create_model(f'hiri_vit_{arch}', **kwargs)
            name = f'hiri_vit_{arch}{suffix}'
        else:
            model = hiri_mm.HIRIViT(arch=arch, **kwargs)
            name = f'HIRI-ViT-{arch.upper()}{suffix}'
        for h, w in shapes:
            counts = complexity_by_module(model, (torch.zeros(1, 3, h, w), ),
                                          [''])['']
            rows.append(dict(model=name, input=(h, w), **counts._asdict()))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    with quiet(not args.verbose):
        if args.config:
            rows = config_rows(args.config, args.shape, args.cfg_options)
        else:
            rows = arch_rows(args.arch, [as_size(v) for v in
                                         args.shape or [448]],
                             args.classifier, args.window_sizes)
    part = ' part |' if args.config else ''
    print(f'| model | input |{part} params (M) | GFLOPs | GFLOPs without '
          'attention matmuls |')
    print('|---' * (6 if args.config else 5) + '|')
    for row in rows:
        part = f" {row['part']} |" if 'part' in row else ''
        h, w = row['input']
        print(f"| {row['model']} | {h}x{w} |{part} "
              f"{row['params'] / 1e6:.2f} | {row['flops'] / 1e9:.2f} | "
              f"{(row['flops'] - row['attention_flops']) / 1e9:.2f} |")
    return rows


if __name__ == '__main__':
    main()
