"""Turn a classification checkpoint into a HIRIViT backbone checkpoint.

    python tools/convert_checkpoint.py work_dirs/hiri_s_in1k/last.pth \
        checkpoints/hiri_s_backbone.pth --arch s [--teacher]

Accepts tools/pretrain.py checkpoints (``state_dict`` and the EMA
``teacher``; ``--teacher`` takes the latter), mmengine checkpoints and
plain timm-style state dicts of ``hiri_vit_*`` models. Keys under
``backbone.`` are kept without that prefix; ``module.`` (DDP) is stripped.
The result is checked against ``HIRIViT(arch)`` (missing and unexpected
keys are reported) and loads in any config with::

    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=DST))
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from hiri_mm import HIRIViT  # noqa: E402
from hiri_mm.openmmlab.checkpoint import load_checkpoint_file  # noqa: E402


def extract_backbone(ckpt: dict, teacher: bool = False
                     ) -> Dict[str, torch.Tensor]:
    """The ``backbone.*`` weights of a checkpoint, prefix removed."""
    if teacher:
        if 'teacher' not in ckpt:
            raise KeyError('--teacher needs a checkpoint from '
                           'tools/pretrain.py (no "teacher" entry found)')
        state = ckpt['teacher']
    else:
        state = ckpt.get('state_dict', ckpt.get('model', ckpt))
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    backbone = {k[len('backbone.'):]: v for k, v in state.items()
                if k.startswith('backbone.')}
    if not backbone:
        raise KeyError('No "backbone." keys in the checkpoint: expected a '
                       'hiri_vit_* classifier, a tools/pretrain.py or a '
                       'detector/segmentor checkpoint')
    return backbone


def convert(src: str, dst: str, arch, teacher: bool = False
            ) -> Tuple[list, list]:
    """Convert ``src`` into ``dst``; return (missing, unexpected) keys."""
    ckpt = load_checkpoint_file(src, map_location='cpu')
    state = extract_backbone(ckpt, teacher)
    result = HIRIViT(arch).load_state_dict(state, strict=False)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=state,
                    meta=dict(source=osp.abspath(src), arch=arch,
                              teacher=teacher)), dst)
    return list(result.missing_keys), list(result.unexpected_keys)


def main(argv=None) -> Tuple[list, list]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--arch', default='s',
                        help="'s', 'b', 'l' or a JSON arch dict")
    parser.add_argument('--teacher', action='store_true',
                        help='convert the EMA teacher instead of the student')
    args = parser.parse_args(argv)
    arch = json.loads(args.arch) if args.arch.startswith('{') else args.arch
    missing, unexpected = convert(args.src, args.dst, arch, args.teacher)
    print(f'wrote {args.dst}')
    print(f'missing keys ({len(missing)}): {missing}')
    print(f'unexpected keys ({len(unexpected)}): {unexpected}')
    return missing, unexpected


if __name__ == '__main__':
    main()
