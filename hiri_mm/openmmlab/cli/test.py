"""``tools/test.py``: options, the switches they make in the config, and
the evaluation of a checkpoint whose weights are checked first."""
import argparse
import logging
import os.path as osp
import re
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import Runner

from ...errors import CheckpointError, UsageError
from ..checkpoint import check_weights, load_weights_file
from ..data_paths import check_dataset_paths
from ..logging import quiet_logs
from .common import add_common_args, load_config, setup_cpu_distributed

__all__ = ['parse_test_args', 'is_segmentation', 'enable_visualization',
           'enable_tta', 'dump_predictions', 'test', 'run_test']

# A checkpoint given by URL (http://, s3://, open-mmlab://, ...).
URL_SCHEME = re.compile(r'^[\w+.-]*:?[\w+.-]+://')


def parse_test_args(
        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The options of ``tools/test.py``."""
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file or URL')
    parser.add_argument(
        '--out',
        help='dump the predictions: detection to a .json file (or a .pkl '
        'for mmdet\'s tools; never read back by ours), segmentation to a '
        'folder of predicted label maps (PNG) or a .pkl')
    parser.add_argument('--show', action='store_true',
                        help='show each image with its predictions')
    parser.add_argument(
        '--show-dir',
        help='save each image drawn with its predictions: detection under '
        'WORK_DIR/<timestamp>/SHOW_DIR, segmentation under '
        'WORK_DIR/SHOW_DIR/vis_data/vis_image (an absolute SHOW_DIR is '
        'used as it is)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each --show window stays open')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation: the config\'s '
                        'tta_model on its tta_pipeline')
    parser.add_argument(
        '--allow-partial-checkpoint', action='store_true',
        help='evaluate even when the checkpoint misses model weights or '
        'has unexpected or mis-shaped ones (they are listed); non-finite '
        'weights are refused all the same')
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
        raise UsageError(
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
            # mmseg's visualizer writes to SAVE_DIR/vis_data/vis_image; a
            # relative folder goes under the work dir, as mmdet's does.
            cfg.visualizer.save_dir = osp.join(cfg.work_dir, show_dir)
    elif show_dir:
        hook.test_out_dir = show_dir


def enable_tta(cfg: Config) -> None:
    """Wrap the model in ``cfg.tta_model`` and test on ``cfg.tta_pipeline``."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise UsageError(
            f'--tta needs {" and ".join(missing)} in {cfg.filename}: '
            'tta_model wraps the model (e.g. DetTTAModel, SegTTAModel), '
            'tta_pipeline is the test pipeline ending in TestTimeAug.')
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def dump_predictions(cfg: Config, out: str) -> None:
    """Add the evaluator that writes the predictions to ``out``: JSON
    (:class:`~hiri_mm.openmmlab.results.DumpDetResultsJSON`) or pickle
    for detection, PNG label maps or pickle for segmentation."""
    evaluators = cfg.test_evaluator if isinstance(
        cfg.test_evaluator, list) else [cfg.test_evaluator]
    pickle = out.endswith(('.pkl', '.pickle'))
    if is_segmentation(cfg) and not pickle:
        iou = [e for e in evaluators if e.type.split('.')[-1] == 'IoUMetric']
        if not iou or out.endswith('.json'):
            raise UsageError(
                '--out for segmentation takes a folder (predicted label maps '
                'as PNG, needs an IoUMetric test_evaluator) or a .pkl file')
        for evaluator in iou:
            evaluator.output_dir = out
        return
    if is_segmentation(cfg):
        dump = dict(type='DumpResults', out_file_path=out)
    elif pickle:
        dump = dict(type='DumpDetResults', out_file_path=out)
    elif out.endswith('.json'):
        dump = dict(type='DumpDetResultsJSON', out_file_path=out)
    else:
        raise UsageError('--out for detection takes a .json file (or .pkl '
                         f'for mmdet\'s analysis tools), not {out}')
    cfg.test_evaluator = [*evaluators, dump]


def _weights_target(model: nn.Module) -> nn.Module:
    """The model whose keys a checkpoint holds: without DDP and TTA
    wrappers (mmengine's loader also unwraps both)."""
    if is_model_wrapper(model):
        model = model.module
    return model.module if isinstance(model, BaseTTAModel) else model


def test(cfg: Config, checkpoint: str,
         allow_partial_checkpoint: bool = False) -> dict:
    """Evaluate ``checkpoint`` on ``cfg``'s test set (the end of
    ``tools/test.py``, after its options have edited ``cfg``).

    The checkpoint's weights are checked against the model first
    (:func:`~hiri_mm.openmmlab.checkpoint.check_weights`): evaluating
    weights that do not fit gives numbers that mean nothing.

    Args:
        cfg (Config): A config from :func:`~.common.load_config`.
        checkpoint (str): A local file or a URL of any scheme that the
            safety layer loads.
        allow_partial_checkpoint (bool): Evaluate with missing, unexpected
            or mis-shaped weights (listed in the log).

    Returns:
        dict: The metrics.

    Raises:
        CheckpointError: The checkpoint is missing, unreadable or does not
            hold the model's weights.
    """
    quiet_logs()
    if not URL_SCHEME.match(checkpoint) and not osp.isfile(checkpoint):
        raise CheckpointError(f'Checkpoint not found: {checkpoint}')
    check_dataset_paths(cfg, ('test', ))
    setup_cpu_distributed(cfg)
    cfg.load_from, cfg.resume = checkpoint, False
    runner = Runner.from_cfg(cfg)
    weights = {re.sub(r'^module\.', '', k): v
               for k, v in load_weights_file(checkpoint).items()}
    problems = check_weights(_weights_target(runner.model), weights,
                             checkpoint, allow_partial_checkpoint)
    partial = {kind: len(keys) for kind, keys in problems.items() if keys}
    if partial:
        print_log(f'--allow-partial-checkpoint: {checkpoint} loaded with '
                  f'{partial} keys left out', logger='current',
                  level=logging.WARNING)
    return runner.test()


def run_test(argv: Optional[Sequence[str]] = None) -> dict:
    """``tools/test.py``: parse the options, apply them, :func:`test`."""
    args = parse_test_args(argv)
    cfg = load_config(args)
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta:
        enable_tta(cfg)
    if args.out:
        dump_predictions(cfg, args.out)
    return test(cfg, args.checkpoint, args.allow_partial_checkpoint)
