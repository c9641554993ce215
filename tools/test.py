"""Evaluate a checkpoint on a config's test set, with the options of mmdet's
and mmseg's ``tools/test.py``.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show] [--show-dir DIR] [--wait-time SECONDS] [--tta]
        [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm|mpi]

Metrics are printed and written by the Runner to
``<work_dir>/<timestamp>/<timestamp>.json``. Each option does what the
config's own toolbox does with it:

- ``--show-dir DIR`` draws every test image with its predictions: for
  detection into ``<work_dir>/<timestamp>/DIR/`` (mmdet), for segmentation
  into ``DIR/vis_data/vis_image/`` (mmseg: the visualizer's ``save_dir``).
- ``--show`` opens a window per image for ``--wait-time`` seconds.
- ``--out`` dumps the predictions: detection to a ``.pkl`` (mmdet's
  ``DumpDetResults``); segmentation to a ``.pkl`` (mmengine's
  ``DumpResults``) or, for any other path, a folder of predicted label maps
  as PNG (mmseg's ``IoUMetric(output_dir=...)``).
- ``--tta`` tests ``tta_model`` wrapped around the model on ``tta_pipeline``
  (both from the config).
"""
import argparse
from typing import Optional, Sequence

from mmengine.config import Config, ConfigDict

import hiri_mm  # noqa: F401  (registers HIRIViT; safe checkpoint loading)
from hiri_mm.openmmlab.runner_utils import add_common_args, load_config, test


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump the predictions: a .pkl file, or for segmentation also a '
        'folder for the predicted label maps (PNG)')
    parser.add_argument('--show', action='store_true',
                        help='show each image with its predictions')
    parser.add_argument(
        '--show-dir',
        help='save each image drawn with its predictions: detection under '
        'WORK_DIR/<timestamp>/SHOW_DIR, segmentation under '
        'SHOW_DIR/vis_data/vis_image')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each --show window stays open')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation: the config\'s '
                        'tta_model on its tta_pipeline')
    return parser.parse_args(argv)


def is_segmentation(cfg: Config) -> bool:
    """Whether the config belongs to mmseg (else mmdet)."""
    return cfg.get('default_scope') == 'mmseg'


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float) -> None:
    """Switch on the config's visualization hook for ``--show`` /
    ``--show-dir``."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise SystemExit(
            '--show and --show-dir need default_hooks.visualization in the '
            "config (e.g. dict(type='DetVisualizationHook') or "
            "dict(type='SegVisualizationHook'))")
    hook.draw = True
    if show:
        hook.show = True
        hook.wait_time = wait_time
    if is_segmentation(cfg):
        # mmseg's hook draws only every `interval`-th test batch (default
        # 50); draw each one, as mmdet's hook does when testing.
        hook.interval = 1
        if show_dir:
            cfg.visualizer.save_dir = show_dir
    elif show_dir:
        hook.test_out_dir = show_dir


def enable_tta(cfg: Config) -> None:
    """Wrap the model in ``cfg.tta_model`` and test on ``cfg.tta_pipeline``."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise SystemExit(
            f'--tta needs {" and ".join(missing)} in {cfg.filename}: '
            'tta_model wraps the model (e.g. DetTTAModel, SegTTAModel), '
            'tta_pipeline is the test pipeline ending in TestTimeAug.')
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def dump_predictions(cfg: Config, out: str) -> None:
    """Add the evaluator that writes the predictions to ``out``."""
    evaluators = cfg.test_evaluator if isinstance(
        cfg.test_evaluator, list) else [cfg.test_evaluator]
    pickle = out.endswith(('.pkl', '.pickle'))
    if is_segmentation(cfg) and not pickle:
        iou = [e for e in evaluators if e.type.split('.')[-1] == 'IoUMetric']
        if not iou:
            raise SystemExit('--out FOLDER needs an IoUMetric test_evaluator; '
                             'give a .pkl file instead')
        for evaluator in iou:
            evaluator.output_dir = out
        return
    if not pickle:
        raise SystemExit('--out must be a .pkl or .pickle file')
    dump = 'DumpResults' if is_segmentation(cfg) else 'DumpDetResults'
    cfg.test_evaluator = [*evaluators, dict(type=dump, out_file_path=out)]


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args)
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta:
        enable_tta(cfg)
    if args.out:
        dump_predictions(cfg, args.out)
    return test(cfg, args.checkpoint)


if __name__ == '__main__':
    main()
