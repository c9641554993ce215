"""Test-only wrapper around ``tools/train.py`` whose checkpoint save stalls.

``os.fsync`` of the temporary file of ``$HIRI_TEST_STALL_FILE`` (e.g.
``epoch_2.pth``) touches ``$HIRI_TEST_STALL_MARKER`` and sleeps, like a slow
disk, so that a test can SIGKILL the run in the middle of that save. Used
only by tests/test_crash_safe_checkpoint.py; nothing in the package reads
these variables.
"""
import os
import os.path as osp
import runpy
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
STALL_FILE = os.environ['HIRI_TEST_STALL_FILE']
MARKER = os.environ['HIRI_TEST_STALL_MARKER']
_fsync = os.fsync


def _stalling_fsync(fd: int) -> None:
    name = osp.basename(os.readlink(f'/proc/self/fd/{fd}'))
    if name.startswith(f'.{STALL_FILE}.') and name.endswith('.partial'):
        open(MARKER, 'w').close()
        time.sleep(600)
    _fsync(fd)


if __name__ == '__main__':
    os.fsync = _stalling_fsync
    sys.argv = [osp.join(ROOT, 'tools', 'train.py'), *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name='__main__')
