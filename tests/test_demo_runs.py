"""Demo runs never collide or reuse half-made data: one exclusive folder per
run, generated sets built in a side folder and renamed into place with a
manifest, interrupted or differently-sized sets regenerated, a set that
another process uses never replaced."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hiri_mm.datasets import MANIFEST, make_coco_shapes, read_manifest
from hiri_mm.errors import DatasetInUseError, IncompleteDatasetError

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.slow
def test_processes_started_together_get_their_own_folders(tmp_path):
    """Four processes ask for the same folder at the same instant."""
    base = str(tmp_path / 'runs' / '20260101_000000')
    start = time.time() + 3  # after every interpreter has started
    code = ('import sys, time; from hiri_mm.fileutils import '
            'make_unique_dir; time.sleep(max(0, float(sys.argv[2]) - '
            'time.time())); print(make_unique_dir(sys.argv[1]))')
    procs = [subprocess.Popen([sys.executable, '-c', code, base, str(start)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(4)]
    folders = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert sorted(folders) == [base, f'{base}_1', f'{base}_2', f'{base}_3']


def test_two_demo_runs_in_the_same_second_write_two_folders(
        tmp_path, monkeypatch):
    """tools/demo.py's run_task, with training, testing and drawing
    replaced by stubs that write what the real ones write."""
    import mmdet.apis

    import tools.demo as demo
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo.time, 'strftime', lambda *args: '20260101_000000')
    monkeypatch.setitem(demo.TASKS, 'det', dict(
        demo.TASKS['det'], make_data=lambda root, **kw: None))

    def train(argv):
        work_dir = argv[argv.index('--work-dir') + 1]
        with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
            f.write(osp.join(work_dir, 'epoch_1.pth'))

    calls = []
    monkeypatch.setattr(demo, 'train', train)
    monkeypatch.setattr(demo, 'config_for', lambda config, work_dir: None)
    # mmseg reports float32 metrics: 99.31 arrives as 99.30999755859375.
    monkeypatch.setattr(demo, 'test', lambda cfg, checkpoint: calls.append(
        checkpoint) or {'coco/bbox_mAP': float(len(calls)),
                        'mIoU': float(np.float32(99.31))})
    monkeypatch.setattr(mmdet.apis, 'DetInferencer',
                        lambda *args, **kwargs: lambda *a, **k: None)
    demo.run_task('det', num_train=1, num_val=1)
    demo.run_task('det', num_train=1, num_val=1)
    runs = sorted(os.listdir(tmp_path / 'work_dirs' / 'demo_det'))
    assert runs == ['20260101_000000', '20260101_000000_1']
    assert [c.split(os.sep)[-2] for c in calls] == runs
    for run, mAP in zip(runs, (1., 2.)):
        with open(tmp_path / 'work_dirs' / 'demo_det' / run /
                  'demo_metrics.json') as f:
            assert json.load(f) == {'coco/bbox_mAP': mAP, 'mIoU': 99.31}


@pytest.mark.slow
def test_interrupted_generator_is_recovered(tmp_path):
    root = str(tmp_path / 'shapes')
    code = ('import sys; from hiri_mm.datasets import make_coco_shapes; '
            'make_coco_shapes(sys.argv[1], num_train=400, num_val=2, '
            'size=128)')
    proc = subprocess.Popen([sys.executable, '-c', code, root], cwd=ROOT)
    build = f'{root}.partial-{proc.pid}'
    images = osp.join(build, 'train2017')
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (
            osp.isdir(images) and len(os.listdir(images)) >= 5):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'generator ended before kill'
    assert osp.isdir(build) and not osp.exists(root)  # nothing half-made

    paths = make_coco_shapes(root, num_train=6, num_val=2, size=64)
    assert not osp.exists(build)  # the killed generator's leftovers
    with open(paths['train2017']) as f:
        assert len(json.load(f)['images']) == 6
    assert read_manifest(root)['num_train'] == 6


def test_same_set_is_reused_and_other_sizes_regenerated(tmp_path):
    root = str(tmp_path / 'shapes')
    make_coco_shapes(root, num_train=3, num_val=1, size=64)
    made = os.stat(osp.join(root, MANIFEST)).st_mtime_ns
    make_coco_shapes(root, num_train=3, num_val=1, size=64)
    assert os.stat(osp.join(root, MANIFEST)).st_mtime_ns == made
    paths = make_coco_shapes(root, num_train=5, num_val=1, size=64)
    with open(paths['train2017']) as f:
        assert len(json.load(f)['images']) == 5
    assert len(os.listdir(osp.join(root, 'train2017'))) == 5
    assert read_manifest(root)['num_train'] == 5
    # No build or old folders; the lock file stays.
    assert sorted(os.listdir(tmp_path)) == ['shapes', 'shapes.lock']


def test_set_in_use_by_another_process_is_not_replaced(tmp_path):
    root = str(tmp_path / 'shapes')
    code = ('import sys; from hiri_mm.datasets import make_coco_shapes; '
            'make_coco_shapes(sys.argv[1], num_train=3, num_val=1, size=64); '
            'print("ready", flush=True); sys.stdin.read()')
    user = subprocess.Popen([sys.executable, '-c', code, root], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert user.stdout.readline() == 'ready\n'
        made = os.stat(osp.join(root, MANIFEST)).st_mtime_ns
        with pytest.raises(DatasetInUseError, match=(
                '3 train / 1 val images of 64 px, which another running '
                'process uses; this one asks for 5 train .*--num-train 3 '
                '--num-val 1')):
            make_coco_shapes(root, num_train=5, num_val=1, size=64)
        assert os.stat(osp.join(root, MANIFEST)).st_mtime_ns == made
        assert len(os.listdir(osp.join(root, 'train2017'))) == 3
        make_coco_shapes(root, num_train=3, num_val=1, size=64)  # same set
    finally:
        user.communicate('')
    assert user.returncode == 0
    # The other process has exited: the set may be replaced now.
    make_coco_shapes(root, num_train=5, num_val=1, size=64)
    assert read_manifest(root)['num_train'] == 5


def test_folders_of_killed_generators_are_removed(tmp_path):
    root = tmp_path / 'shapes'
    dead = subprocess.run([sys.executable, '-c', 'import os; '
                           'print(os.getpid())'], capture_output=True,
                          text=True, check=True).stdout.strip()
    for leftover in (f'shapes.partial-{dead}', f'shapes.old-{dead}'):
        (tmp_path / leftover / 'train2017').mkdir(parents=True)
    make_coco_shapes(str(root), num_train=2, num_val=1, size=64)
    assert sorted(os.listdir(tmp_path)) == ['shapes', 'shapes.lock']


def test_folder_without_manifest_is_named_not_used(tmp_path):
    root = tmp_path / 'shapes'
    (root / 'train2017').mkdir(parents=True)
    (root / 'train2017' / '000000.png').write_bytes(b'half')
    with pytest.raises(IncompleteDatasetError,
                       match=f'Delete it to generate it again: rm -r {root}'):
        make_coco_shapes(str(root), num_train=2, num_val=1, size=64)
    assert (root / 'train2017' / '000000.png').read_bytes() == b'half'
