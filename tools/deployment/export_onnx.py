"""Export a HIRI-ViT backbone checkpoint to ONNX and check it with
onnxruntime.

    python tools/deployment/export_onnx.py --checkpoint checkpoints/hiri_s_backbone.pth \
        --arch s --shape 1600 2666 --out hiri_s.onnx [--window-sizes 14 none]

CKPT is a backbone checkpoint of tools/convert_checkpoint.py. The graph
has one input (``input``, B x 3 x H x W) and one output per returned stage
(``stage2`` ... ``stage5``), all with dynamic batch, height and width; the
BatchNorms are folded (``switch_to_deploy``) unless ``--no-deploy``. The
graph is then run with onnxruntime on random inputs at ``--shape`` and at a
second size and compared with PyTorch: the tool prints the largest absolute
difference and exits with status 1 when the difference, relative to each
output's largest magnitude where that is above 1, exceeds ``--tolerance``
(see :class:`hiri_mm.export.Difference`). Needs
``pip install hiri_mm[deploy]`` (onnx, onnxruntime).
"""
import argparse
import json
import sys
from typing import List, Optional, Sequence

from hiri_mm.export import (Difference, compare_onnx, export_onnx,
                            load_backbone, trace_size)


def window_size(value: str) -> Optional[int]:
    """An int window side, or ``none`` for global attention."""
    return None if value.lower() == 'none' else int(value)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--checkpoint', required=True,
                        help='backbone checkpoint (tools/convert_checkpoint.py)')
    parser.add_argument('--arch', default='s',
                        help="'s', 'b', 'l' or a JSON arch dict")
    parser.add_argument('--shape', nargs=2, type=int, default=[448, 448],
                        metavar=('H', 'W'), help='input size to check at')
    parser.add_argument('--out', required=True, help='.onnx file to write')
    parser.add_argument('--window-sizes', nargs=2, type=window_size,
                        metavar=('STAGE4', 'STAGE5'),
                        help='window sides of stages 4 and 5, or none '
                        '(global attention), e.g. 14 none')
    parser.add_argument('--no-deploy', action='store_true',
                        help='keep the BatchNorms (no switch_to_deploy)')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--tolerance', type=float, default=1e-3,
                        help='largest difference accepted (absolute, '
                        'relative for outputs above 1 in magnitude)')
    return parser.parse_args(argv)


def check_sizes(shape: Sequence[int]) -> List[tuple]:
    """``shape`` and a second size that shows the axes are dynamic."""
    shape = tuple(shape)
    other = trace_size(shape)
    if other == shape:
        other = trace_size((shape[0] + 1, shape[1] + 1))
    return [shape, other]


def main(argv: Optional[Sequence[str]] = None) -> Difference:
    args = parse_args(argv)
    arch = json.loads(args.arch) if args.arch.startswith('{') else args.arch
    model = load_backbone(args.checkpoint, arch, args.window_sizes,
                          deploy=not args.no_deploy)
    names = export_onnx(model, args.out, tuple(args.shape), args.opset)
    print(f'wrote {args.out}: input -> {", ".join(names)}')
    sizes = check_sizes(args.shape)
    diff = compare_onnx(model, args.out, sizes)
    checked = ' and '.join(f'{h}x{w}' for h, w in sizes)
    print(f'onnxruntime vs PyTorch at {checked}: max abs difference '
          f'{diff.abs:.2e}, scaled {diff.scaled:.2e} (tolerance '
          f'{args.tolerance:.0e})')
    if not diff.scaled <= args.tolerance:
        sys.exit(f'error: {args.out} differs from PyTorch by {diff.scaled:.2e}'
                 f' > {args.tolerance:.0e}: check the onnxruntime version '
                 f'(requirements.txt) and --opset')
    return diff


if __name__ == '__main__':
    main()
