"""The launcher scripts: tools/dist_*.sh and tools/slurm_*.sh run the
repository's .venv python by default (PYTHON overrides it) and hand their
options to tools/train.py / tools/test.py."""
import os
import os.path as osp
import subprocess

import pytest

from tests.helpers import SEG_DEMO, seg_options

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VENV_PYTHON = osp.join(ROOT, '.venv', 'bin', 'python')


def _fake_srun(tmp_path) -> dict:
    """An environment whose ``srun`` only records its arguments."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/srun.args\n')
    srun.chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}')
    env.pop('PYTHON', None)
    return env


@pytest.mark.skipif(not osp.exists(VENV_PYTHON), reason='needs .venv')
@pytest.mark.parametrize('script, args, tool', [
    ('slurm_train.sh', ['part', 'job', 'cfg.py', 'work'], 'train.py'),
    ('slurm_test.sh', ['part', 'job', 'cfg.py', 'ckpt.pth'], 'test.py'),
])
def test_slurm_scripts_run_the_venv_python(tmp_path, script, args, tool):
    env = _fake_srun(tmp_path)
    subprocess.run(['bash', osp.join(ROOT, 'tools', script), *args,
                    '--cfg-options', 'a=1'], env=env, check=True,
                   capture_output=True)
    argv = (tmp_path / 'srun.args').read_text().splitlines()
    i = argv.index(VENV_PYTHON)
    assert argv[i + 1:i + 4] == ['-u', osp.join(ROOT, 'tools', tool),
                                 'cfg.py']
    assert argv[-4:] == ['--launcher', 'slurm', '--cfg-options', 'a=1']
    assert ['-p', 'part', '--job-name=job'] == argv[:3]

    env['PYTHON'] = '/opt/other/python'
    subprocess.run(['bash', osp.join(ROOT, 'tools', script), *args],
                   env=env, check=True, capture_output=True)
    assert '/opt/other/python' in (tmp_path / 'srun.args').read_text()


@pytest.mark.slow
@pytest.mark.skipif(not osp.exists(VENV_PYTHON), reason='needs .venv')
def test_dist_test_evaluates_on_cpu_with_the_venv_python(
        seg_trained, ade_shapes, tmp_path):
    # No python with torch on PATH: the script must find .venv by itself.
    env = dict(os.environ, PATH='/usr/bin:/bin', PORT='29533')
    env.pop('PYTHON', None)
    result = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), SEG_DEMO,
         seg_trained, '1', '--work-dir', str(tmp_path), '--cfg-options',
         *seg_options(ade_shapes, 4)],
        cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'mIoU' in result.stdout + result.stderr
