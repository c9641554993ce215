"""Evaluate a checkpoint on a config's test set (mmdet / mmseg conventions).

    python tools/test.py CONFIG CHECKPOINT [--show-dir vis] [--out preds.pkl]

Metrics are printed and written by the Runner to
``<work_dir>/<timestamp>/<timestamp>.json``.
"""
import argparse
import os.path as osp

from mmengine.runner import Runner

import hiri_mm  # noqa: F401  (registers HIRIViT; safe checkpoint loading)
from hiri_mm.openmmlab.runner_utils import (add_common_args, check_dataset_paths,
                                  load_config, setup_cpu_distributed)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump raw predictions to this .pkl')
    parser.add_argument('--show-dir',
                        help='save drawn predictions under work_dir/<time>/'
                        'SHOW_DIR')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'Checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis = cfg.default_hooks.visualization
        vis.draw = True
        key = 'test_out_dir' if cfg.default_scope == 'mmdet' else 'out_dir'
        vis[key] = args.show_dir
        if cfg.default_scope == 'mmseg':
            vis.interval = 1
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit('--out must be a .pkl or .pickle file')
        dump = 'DumpDetResults' if cfg.default_scope == 'mmdet' else \
            'DumpResults'
        evaluators = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator = [*evaluators,
                              dict(type=dump, out_file_path=args.out)]
    check_dataset_paths(cfg, ('test', ))
    setup_cpu_distributed(cfg)
    return Runner.from_cfg(cfg).test()


if __name__ == '__main__':
    main()
