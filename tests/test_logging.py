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
    # MMLogger instances live for the whole process: one name per test.
    logger = MMLogger.get_instance(f'{tmp_path.name}_{name}',
                                   log_file=str(path), log_level=level)
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


def _config(**changes):
    """A Runner-like config; ``changes`` replace its entries."""
    return Config(dict(
        dict(model=dict(type='HIRIViT', arch='s', out_indices=(1, 2, 3, 4)),
             train_dataloader=dict(batch_size=2, num_workers=2),
             work_dir='work_dirs/train', load_from=None, launcher='none',
             visualizer=dict(type='Visualizer', name='visualizer_0')),
        **changes))


def test_a_repeated_config_logs_only_the_entries_that_changed(
        tmp_path, factory):
    first = _log_lines(tmp_path, 'dump_train', 'INFO', _dump(_config()))
    assert 'model = dict(' in first
    # A test run of the same config: its own work dir, checkpoint and
    # visualizer name.
    test = _config(work_dir='work_dirs/test', load_from='epoch_1.pth',
                   visualizer=dict(type='Visualizer', name='visualizer_1'))
    again = _log_lines(tmp_path, 'dump_test', 'INFO', _dump(test))
    assert again[0].endswith(
        'Config: as logged above by this process, except:')
    assert again[1:] == [
        "load_from = 'epoch_1.pth'",
        "visualizer = dict(name='visualizer_1', type='Visualizer')",
        "work_dir = 'work_dirs/test'"]
    same = _log_lines(tmp_path, 'dump_same', 'INFO', _dump(_config()))
    assert same == [same[0]]
    assert same[0].endswith('Config: as logged above by this process')


def test_a_mostly_new_config_is_logged_in_full(tmp_path, factory):
    _log_lines(tmp_path, 'dump_train', 'INFO', _dump(_config()))
    # Four of its six entries differ: more than half of its lines.
    other = _config(model=dict(type='HIRIViT', arch='b'),
                    train_dataloader=dict(batch_size=4), launcher='pytorch',
                    visualizer=dict(type='Visualizer', name='visualizer_1'))
    lines = _log_lines(tmp_path, 'dump_other', 'INFO', _dump(other))
    assert lines[0].endswith(' - INFO - Config:')
    assert "model = dict(arch='b', type='HIRIViT')" in lines
    assert "work_dir = 'work_dirs/train'" in lines


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
