"""Turn a classification checkpoint into a HIRIViT backbone checkpoint.

    python tools/convert_checkpoint.py \
        work_dirs/hiri_vit_s_300e_in1k/epoch_300.pth \
        checkpoints/hiri_s_backbone.pth --arch s [--teacher]

SRC is a checkpoint of ``configs/classification/`` (the student's backbone
by default, the EMA teacher's with ``--teacher``) or, with
``--prefix backbone.``, a timm ``hiri_vit_*`` state dict or a detector /
segmentor checkpoint. The backbone is checked against ``HIRIViT(arch)``:
the output norms of stages 2-4 (``norm1``-``norm3``), which classification
does not train, are reported as expected; any other difference is an error.
The result loads in any config with::

    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=DST))

(A config can also read SRC directly: ``init_cfg=dict(type='Pretrained',
checkpoint=SRC, prefix='distiller.teacher.module.backbone.')``.)
"""
import argparse
import json
import sys
from typing import List, Optional, Tuple, Union

from mmengine.utils import ProgressBar

from hiri_mm import HIRIViT
from hiri_mm.errors import CheckpointMismatchError, HiriMMError
from hiri_mm.openmmlab.checkpoint import (load_weights_file, save_checkpoint,
                                          weights_under_prefix)

STUDENT = 'distiller.student.backbone.'
TEACHER = 'distiller.teacher.module.backbone.'


def convert(src: str, dst: str, arch: Union[str, dict] = 's',
            prefix: str = STUDENT, progress: bool = False
            ) -> Tuple[List[str], List[str]]:
    """Write the weights under ``prefix`` of ``src`` (prefix removed) to
    ``dst``; return the keys of ``HIRIViT(arch)`` that they lack (only
    untrained output norms) and the keys it does not have (none).

    Raises:
        CheckpointMismatchError: ``src`` has no key under ``prefix`` (the
            message names the prefix to use where ``src`` has a backbone
            under another one), or the weights do not fit ``arch`` (wrong
            size or layout); nothing is written.
    """
    bar = ProgressBar(3, file=sys.stdout) if progress else None
    weights = load_weights_file(src)
    state = weights_under_prefix(weights, prefix)
    if not state:
        found = [p for p in (STUDENT, TEACHER, 'backbone.')
                 if p != prefix and weights_under_prefix(weights, p)]
        hint = (f'it holds a backbone under {found[0]!r}: pass --prefix '
                f'{found[0]}' if found else
                'use --teacher or no flag for a configs/classification '
                'checkpoint, --prefix backbone. for a timm hiri_vit_* state '
                'dict or a detector / segmentor checkpoint')
        raise CheckpointMismatchError(
            f'{src} has no weights under {prefix!r}: {hint}')
    if bar:
        bar.update()
    backbone = HIRIViT(arch)
    try:
        result = backbone.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise CheckpointMismatchError(
            f'The weights of {src} do not fit HIRIViT arch {arch!r}: pass '
            f'the --arch it was trained with. {e}') from None
    output_norms = tuple(f'norm{i}.' for i in backbone.out_indices)
    missing = list(result.missing_keys)
    unexpected = list(result.unexpected_keys)
    wrong = [k for k in missing if not k.startswith(output_norms)]
    if wrong or unexpected:
        raise CheckpointMismatchError(
            f'The weights of {src} under {prefix!r} do not match HIRIViT '
            f'arch {arch!r}: missing {wrong[:5]}, unexpected '
            f'{unexpected[:5]}: check --arch and --prefix')
    if bar:
        bar.update()
    save_checkpoint(dict(state_dict=state,
                         meta=dict(source=src, prefix=prefix, arch=arch)),
                    dst)
    if bar:
        bar.update()
        sys.stdout.write('\n')
    return missing, unexpected


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='backbone checkpoint to write')
    parser.add_argument('--arch', default='s',
                        help="'s', 'b', 'l' or a JSON arch dict")
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--teacher', action='store_const', dest='prefix',
                       const=TEACHER,
                       help='convert the EMA teacher instead of the student')
    which.add_argument('--prefix',
                       help='key prefix of the backbone weights in SRC '
                       f'(default: the student, {STUDENT!r})')
    parser.set_defaults(prefix=STUDENT)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Tuple[List[str], List[str]]:
    args = parse_args(argv)
    arch = json.loads(args.arch) if args.arch.startswith('{') else args.arch
    try:
        missing, unexpected = convert(args.src, args.dst, arch, args.prefix,
                                      progress=sys.stdout.isatty())
    except HiriMMError as error:
        raise SystemExit(str(error)) from None
    print(f'wrote {args.dst} (the backbone under {args.prefix!r} of '
          f'{args.src})')
    if missing:
        print(f'not in the checkpoint: {len(missing)} keys of the output '
              f'norms {sorted({k.split(".")[0] for k in missing})}, which '
              f'classification does not train (expected; they keep their '
              f'initialisation when a detector or segmentor loads the file)')
    return missing, unexpected


if __name__ == '__main__':
    main()
