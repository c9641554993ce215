"""The command lines of ``tools/train.py`` and ``tools/test.py`` (and the
pieces ``tools/demo.py`` and ``tools/analysis`` reuse). They raise
:class:`~hiri_mm.errors.HiriMMError` subclasses; the tools turn those into
a message and a non-zero exit status."""
from .common import add_common_args, config_for, load_config
from .test import (dump_predictions, enable_tta, enable_visualization,
                   parse_test_args, run_test, test)
from .train import (fp32_optim_wrapper, parse_train_args, resume_auto, train,
                    use_fp32_without_gpu)

__all__ = [
    'add_common_args', 'load_config', 'config_for', 'parse_train_args',
    'train', 'resume_auto', 'fp32_optim_wrapper', 'use_fp32_without_gpu',
    'parse_test_args', 'enable_visualization', 'enable_tta',
    'dump_predictions', 'test', 'run_test'
]
