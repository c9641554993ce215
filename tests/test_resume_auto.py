"""Where a training run starts: ``--resume`` without a path continues from
the newest complete checkpoint (named by ``last_checkpoint`` or found in
the work dir), a run never starts from scratch over saved checkpoints, and
one work dir takes one training run at a time."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from hiri_mm.errors import ResumeError, WorkDirInUseError
from hiri_mm.fileutils import FileLock
from hiri_mm.openmmlab.cli import resume_auto, train
from hiri_mm.openmmlab.cli.train import (WORK_DIR_LOCK, choose_start,
                                         lock_work_dir)
from tests.helpers import DET_DEMO, det_options

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _save(path, epoch):
    torch.save({'meta': {'epoch': epoch}, 'state_dict': {}}, path)
    return str(path)


def _truncate(path):
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)


def _cfg(work_dir, **fields):
    return Config(dict(work_dir=str(work_dir), **fields))


def test_resume_auto_continues_from_the_latest_checkpoint(tmp_path):
    latest = _save(tmp_path / 'epoch_2.pth', 2)
    (tmp_path / 'last_checkpoint').write_text(latest)
    cfg = _cfg(tmp_path, load_from='pretrained.pth')
    resume_auto(cfg)
    assert cfg.resume and cfg.load_from == latest


def test_resume_auto_without_checkpoint_keeps_weights_only_load_from(
        tmp_path):
    cfg = _cfg(tmp_path, load_from='pretrained.pth')
    resume_auto(cfg)
    assert not cfg.resume and cfg.load_from == 'pretrained.pth'


def test_resume_without_pointer_takes_the_newest_checkpoint(tmp_path):
    for epoch in (1, 2, 10):
        _save(tmp_path / f'epoch_{epoch}.pth', epoch)
    cfg = _cfg(tmp_path)
    resume_auto(cfg)
    assert cfg.resume and cfg.load_from == str(tmp_path / 'epoch_10.pth')


def test_truncated_checkpoint_is_passed_over(tmp_path):
    _save(tmp_path / 'epoch_1.pth', 1)
    newest = _save(tmp_path / 'epoch_2.pth', 2)
    _truncate(newest)
    (tmp_path / 'last_checkpoint').write_text(newest)
    cfg = _cfg(tmp_path)
    resume_auto(cfg)
    assert cfg.load_from == str(tmp_path / 'epoch_1.pth')


def test_only_truncated_checkpoints_stop_the_resume(tmp_path):
    _truncate(_save(tmp_path / 'iter_4.pth', 1))
    cfg = _cfg(tmp_path)
    with pytest.raises(ResumeError, match=r'holds iter_4\.pth, but none is '
                       r'a complete checkpoint'):
        resume_auto(cfg)


@pytest.mark.parametrize('fields', [{}, dict(load_from='pretrained.pth')])
def test_training_from_the_start_never_overwrites_checkpoints(tmp_path,
                                                              fields):
    _save(tmp_path / 'epoch_1.pth', 1)
    with pytest.raises(ResumeError, match=r'holds epoch_1\.pth of an earlier '
                       r'run.*Pass --resume'):
        choose_start(_cfg(tmp_path, **fields), resume=None)


def test_config_resume_without_load_from_resumes_like_the_option(
        tmp_path):
    latest = _save(tmp_path / 'epoch_3.pth', 3)
    cfg = _cfg(tmp_path, resume=True)
    choose_start(cfg, resume=None)
    assert cfg.resume and cfg.load_from == latest


def test_a_second_lock_on_a_work_dir_names_the_holder(tmp_path):
    held = lock_work_dir(str(tmp_path))
    try:
        with pytest.raises(WorkDirInUseError,
                           match=f'another training run \\(pid '
                           f'{os.getpid()}\\)'):
            lock_work_dir(str(tmp_path))
    finally:
        held.release()
    lock_work_dir(str(tmp_path)).release()  # free again


def test_train_stops_while_another_run_holds_the_work_dir(coco_shapes,
                                                          tmp_path):
    work_dir = tmp_path / 'w'
    holder = FileLock(str(work_dir / WORK_DIR_LOCK))
    assert holder.acquire(blocking=False)
    try:
        with pytest.raises(WorkDirInUseError, match=f'pid {os.getpid()}'):
            train([DET_DEMO, '--work-dir', str(work_dir), '--cfg-options',
                   *det_options(coco_shapes, 1)])
    finally:
        holder.release()
    assert os.listdir(work_dir) == [WORK_DIR_LOCK]  # no Runner was built


@pytest.mark.slow
def test_second_train_tool_in_a_work_dir_names_the_first_runs_pid(
        coco_shapes, tmp_path):
    work_dir = tmp_path / 'w'
    code = ('import sys; from hiri_mm.openmmlab.cli.train import '
            'lock_work_dir; lock_work_dir(sys.argv[1]); print("ready", '
            'flush=True); sys.stdin.read()')
    first = subprocess.Popen([sys.executable, '-c', code, str(work_dir)],
                             cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline() == 'ready\n'
        second = subprocess.run(
            [sys.executable, 'tools/train.py', DET_DEMO, '--work-dir',
             str(work_dir), '--cfg-options', *det_options(coco_shapes, 1)],
            cwd=ROOT, capture_output=True, text=True)
    finally:
        first.communicate('')
    assert second.returncode == 1
    assert f'in use by another training run (pid {first.pid})' in \
        second.stderr
