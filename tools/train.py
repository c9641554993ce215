"""Train a detector or segmentor from a config (mmdet / mmseg conventions).

    python tools/train.py configs/detection/maskrcnn_hiri_s_1x.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --amp --resume
"""
import argparse

from mmengine.runner import Runner

import hiri_mm  # noqa: F401  (registers HIRIViT; safe checkpoint loading)
from hiri_mm.openmmlab.runner_utils import (add_common_args, check_dataset_paths,
                                  check_num_classes, load_config,
                                  setup_cpu_distributed)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    add_common_args(parser)
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the total batch '
                        'size (auto_scale_lr.base_batch_size in the config)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise SystemExit('--auto-scale-lr needs auto_scale_lr = '
                             'dict(enable=..., base_batch_size=...) in the '
                             'config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    splits = ('train', 'val') if cfg.get('val_cfg') else ('train', )
    check_dataset_paths(cfg, splits)
    check_num_classes(cfg)
    setup_cpu_distributed(cfg)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
