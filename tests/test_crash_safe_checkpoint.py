"""Crash-safe writing: AtomicCheckpointHook's checkpoint is complete or
absent, old ones are deleted only after the new one is complete,
``last_checkpoint`` always names a complete file, and a run SIGKILLed while
saving resumes from the previous checkpoint; atomic_write never follows a
link planted at its temporary name, cleans up after every failure and
names the folder and the space of a full disk."""
import errno
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from hiri_mm.errors import DiskFullError
from hiri_mm.fileutils import atomic_write, remove_stale_partials
from tests.helpers import DET_DEMO, det_options

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class _Linear(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, mode='loss'):
        return dict(loss=self.fc(inputs).pow(2).mean())


class _Points(Dataset):

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return torch.full((2, ), float(i))


def _runner(work_dir, epochs, resume=False, **checkpoint):
    return Runner(
        model=_Linear(), work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Points(), batch_size=1,
            collate_fn=lambda b: dict(inputs=torch.stack(b)),
            sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(
            type='AtomicCheckpointHook', interval=1, **checkpoint)),
        resume=resume)


def _last(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read()


def _partials(folder):
    return glob.glob(osp.join(str(folder), '.*.partial'))


def _dead_pid():
    """The id of a process that has ended."""
    return subprocess.run([sys.executable, '-c', 'import os; '
                           'print(os.getpid())'], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_max_keep_ckpts_keeps_the_newest_complete_file(tmp_path):
    _runner(tmp_path, 3, max_keep_ckpts=1).train()
    assert sorted(glob.glob(str(tmp_path / '*.pth'))) == [
        str(tmp_path / 'epoch_3.pth')]
    assert _last(tmp_path) == str(tmp_path / 'epoch_3.pth')
    assert torch.load(_last(tmp_path))['meta']['epoch'] == 3
    assert not _partials(tmp_path)


def test_failed_save_keeps_previous_checkpoint_and_pointer(tmp_path,
                                                           monkeypatch):
    """A save that dies half-way (here: fsync fails, as on a full disk)
    leaves the previous checkpoint, a pointer to it, and no partial file."""
    real_fsync = os.fsync

    def failing_fsync(fd):
        if 'epoch_2.pth' in os.readlink(f'/proc/self/fd/{fd}'):
            raise OSError(28, 'No space left on device')
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='No space left'):
        _runner(tmp_path, 3, max_keep_ckpts=1).train()
    assert not osp.exists(tmp_path / 'epoch_2.pth')
    assert _last(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert torch.load(tmp_path / 'epoch_1.pth')['meta']['epoch'] == 1
    assert not _partials(tmp_path)


def test_displaced_checkpoint_is_deleted_by_the_resumed_run(tmp_path):
    """A run that dies after its new checkpoint is complete but before the
    old one is deleted: the resumed run deletes the old one."""
    _runner(tmp_path, 2, max_keep_ckpts=1).train()
    stale = tmp_path / 'epoch_1.pth'
    torch.save({}, stale)  # as if deleting it had not happened
    _runner(tmp_path, 3, resume=True, max_keep_ckpts=1).train()
    assert not stale.exists()
    assert sorted(glob.glob(str(tmp_path / '*.pth'))) == [
        str(tmp_path / 'epoch_3.pth')]


def test_previous_best_is_deleted_after_the_new_best_is_saved(
        tmp_path, monkeypatch):
    """The previous best checkpoint still exists while the new best one is
    being written."""
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import Runner as RunnerCls
    runner = _runner(tmp_path, 2, save_best='acc', rule='greater')
    hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    present_while_saving = []
    save = RunnerCls.save_checkpoint

    def record(self, out_dir, filename, *args, **kwargs):
        if filename.startswith('best_'):
            present_while_saving.append(sorted(
                osp.basename(p) for p in glob.glob(osp.join(out_dir,
                                                            'best_*'))))
        return save(self, out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(RunnerCls, 'save_checkpoint', record)
    runner.train()
    for epoch, acc in ((1, 0.5), (2, 0.9)):
        runner.train_loop._epoch = epoch
        hook.after_val_epoch(runner, dict(acc=acc))
    assert present_while_saving == [[], ['best_acc_epoch_1.pth']]
    assert [osp.basename(p) for p in glob.glob(str(tmp_path / 'best_*'))] \
        == ['best_acc_epoch_2.pth']


def test_stale_partial_files_of_dead_writers_are_removed(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f'.epoch_2.pth.{dead}.partial'
    alive = tmp_path / f'.epoch_2.pth.{os.getppid()}.partial'
    stale.write_bytes(b'half')
    alive.write_bytes(b'half')
    assert remove_stale_partials(str(tmp_path)) == [str(stale)]
    assert alive.exists()


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / 'sub' / 'last_checkpoint'
    atomic_write(path, 'a' * 100)
    atomic_write(path, 'b')
    assert path.read_text() == 'b'
    assert not _partials(path.parent)


def test_link_planted_at_the_temporary_name_is_not_followed(tmp_path):
    """Another user pre-creates the name the next save would use as a
    link to a file of ours; the save must not write through it."""
    victim = tmp_path / 'victim.txt'
    victim.write_text('precious')
    target = tmp_path / 'epoch_1.pth'
    planted = tmp_path / f'.epoch_1.pth.{os.getpid()}-0.partial'
    planted.symlink_to(victim)
    atomic_write(target, b'weights')
    assert victim.read_text() == 'precious'
    assert target.read_bytes() == b'weights'
    assert planted.is_symlink()  # not ours: left alone


def test_next_write_removes_what_a_killed_writer_left(tmp_path):
    """E.g. a convert_checkpoint.py killed while writing its output."""
    dead = _dead_pid()
    left = tmp_path / f'.out.pth.{dead}-0.partial'
    other = tmp_path / f'.other.pth.{dead}-0.partial'
    left.write_bytes(b'half')
    other.write_bytes(b'half')
    atomic_write(tmp_path / 'out.pth', b'whole')
    assert not left.exists()
    assert other.exists()  # another target's: left to its own next write


def test_full_disk_is_one_line_naming_folder_and_space(tmp_path,
                                                       monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'earlier')
    write = os.write

    def full(fd, data):
        if os.readlink(f'/proc/self/fd/{fd}').endswith('.partial'):
            raise OSError(errno.ENOSPC, 'No space left on device')
        return write(fd, data)

    monkeypatch.setattr(os, 'write', full)
    with pytest.raises(DiskFullError) as error:
        atomic_write(target, b'x' * 3000)
    message = str(error.value)
    assert '\n' not in message
    assert f'No space left in {tmp_path} to write epoch_1.pth' in message
    assert 'free, 2.9 KiB needed' in message
    assert target.read_bytes() == b'earlier'
    assert not _partials(tmp_path)


def test_too_little_free_space_stops_before_writing(tmp_path, monkeypatch):
    import shutil
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage._replace(
        free=100))
    with pytest.raises(DiskFullError, match='100 B free, 2.0 KiB needed'):
        atomic_write(tmp_path / 'big.pth', b'x' * 2048)
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_every_config_saves_crash_safe_checkpoints():
    configs = [c for c in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                    recursive=True) if '_base_' not in c]
    assert configs
    for path in configs:
        cfg = Config.fromfile(path)
        if 'default_hooks' in cfg:  # Runner configs
            assert cfg.default_hooks.checkpoint.type == \
                'AtomicCheckpointHook', path


@pytest.mark.slow
def test_sigkill_while_saving_resumes_from_previous_checkpoint(
        coco_shapes, tmp_path):
    work_dir = str(tmp_path / 'work')
    marker = str(tmp_path / 'saving_epoch_2')
    args = [DET_DEMO, '--work-dir', work_dir, '--cfg-options',
            *det_options(coco_shapes, 3), 'train_cfg.val_interval=4',
            'default_hooks.checkpoint.max_keep_ckpts=1']
    env = dict(os.environ, HIRI_TEST_STALL_FILE='epoch_2.pth',
               HIRI_TEST_STALL_MARKER=marker)
    proc = subprocess.Popen(
        [sys.executable, 'tests/stalled_save_train.py', *args], cwd=ROOT,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not osp.exists(marker) and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert osp.exists(marker), 'training ended before the stalled save'
    # Killed with epoch 2 written to its temporary file, not yet renamed.
    assert _partials(work_dir)
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    assert _last(work_dir) == osp.join(work_dir, 'epoch_1.pth')
    assert torch.load(_last(work_dir))['meta']['epoch'] == 1

    resumed = subprocess.run(
        [sys.executable, 'tools/train.py', *args[:3], '--resume', *args[3:]],
        cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'epoch_1.pth' in log and 'resumed epoch: 1' in log
    assert sorted(glob.glob(osp.join(work_dir, '*.pth'))) == [
        osp.join(work_dir, 'epoch_3.pth')]
    assert torch.load(_last(work_dir))['meta']['epoch'] == 3
    assert not _partials(work_dir)
