"""Quiet logs (hiri_mm.openmmlab.logging): mmengine's per-parameter
optimizer lines go to DEBUG, and a process logs a config once."""
import logging

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper

from hiri_mm import HIRIViT
from hiri_mm.openmmlab.logging import QuietRecordFactory, quiet_logs
from tests.helpers import TINY_ARCH

OPTIM = dict(type='OptimWrapper',
             optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
             paramwise_cfg=dict(norm_decay_mult=0.))


@pytest.fixture
def factory():
    """A fresh QuietRecordFactory, installed for one test only."""
    before = logging.getLogRecordFactory()
    quiet = QuietRecordFactory(logging.LogRecord)
    logging.setLogRecordFactory(quiet)
    yield quiet
    logging.setLogRecordFactory(before)


def _log_lines(tmp_path, name, level, log):
    """Lines that ``log()`` writes to a fresh MMLogger's file at ``level``."""
    path = tmp_path / f'{name}.log'
    logger = MMLogger.get_instance(name, log_file=str(path), log_level=level)
    log(logger)
    for handler in logger.handlers:
        handler.flush()
    return path.read_text().splitlines()


def _build_optimizer(logger):
    build_optim_wrapper(HIRIViT(arch=dict(TINY_ARCH)), OPTIM)


def test_paramwise_lines_leave_the_info_log(tmp_path, factory):
    info = _log_lines(tmp_path, 'quiet_info', 'INFO', _build_optimizer)
    assert not [line for line in info if 'paramwise_options' in line]
    debug = _log_lines(tmp_path, 'quiet_debug', 'DEBUG', _build_optimizer)
    paramwise = [line for line in debug if 'paramwise_options' in line]
    # One line per norm weight and bias of the tiny backbone.
    assert len(paramwise) > 10
    assert all(' - DEBUG - ' in line for line in paramwise)


def test_without_the_factory_mmengine_logs_them_at_info(tmp_path):
    before = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        info = _log_lines(tmp_path, 'loud_info', 'INFO', _build_optimizer)
    finally:
        logging.setLogRecordFactory(before)
    assert len([line for line in info if 'paramwise_options' in line]) > 10


def _dump(cfg):
    return lambda logger: logger.info(f'Config:\n{cfg.pretty_text}')


def test_a_config_is_logged_once_with_each_runs_own_keys(tmp_path, factory):
    train = Config(dict(model=dict(type='HIRIViT', arch='s'),
                        work_dir='work_dirs/train', load_from=None,
                        launcher='none'))
    test = Config(dict(train.to_dict(), work_dir='work_dirs/test',
                       load_from='work_dirs/train/epoch_1.pth'))
    other = Config(dict(train.to_dict(), model=dict(type='HIRIViT',
                                                    arch='b')))
    first = _log_lines(tmp_path, 'dump_train', 'INFO', _dump(train))
    assert "model = dict(arch='s', type='HIRIViT')" in first
    again = _log_lines(tmp_path, 'dump_test', 'INFO', _dump(test))
    # One line, naming the run keys that changed (launcher did not).
    assert len(again) == 1
    assert again[0].endswith(
        "Config: as logged above by this process, with "
        "load_from = 'work_dirs/train/epoch_1.pth'; "
        "work_dir = 'work_dirs/test'")
    same = _log_lines(tmp_path, 'dump_same', 'INFO', _dump(train))
    assert same[0].endswith('Config: as logged above by this process')
    changed = _log_lines(tmp_path, 'dump_other', 'INFO', _dump(other))
    assert "model = dict(arch='b', type='HIRIViT')" in changed


def test_quiet_logs_installs_one_factory_around_the_current_one():
    before = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        installed = quiet_logs()
        assert logging.getLogRecordFactory() is installed
        assert installed.factory is logging.LogRecord
        assert quiet_logs() is installed
    finally:
        logging.setLogRecordFactory(before)
