"""Crash-safe file writing and file locks (plain Python: the core, the data
generators and the OpenMMLab adapter use them without mmengine).

:func:`atomic_write` writes into a temporary file next to the target,
created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``: a file or symlink
planted at its name is never opened, let alone followed), flushes and fsyncs
it, renames it over the target (``os.replace`` is atomic on POSIX and
Windows) and fsyncs the folder, so the target holds its old content or all
of the new, never a part. The temporary file is removed on every failure; a
full disk is reported as one :class:`~hiri_mm.errors.DiskFullError` line
naming the folder, its free space and the size needed. A process killed
while writing leaves ``.<name>.<pid>-<n>.partial``; the next write of the
same target, or :func:`remove_stale_partials` on the folder, deletes those
of processes that no longer run.

:class:`FileLock` is an advisory lock on a file: ``fcntl.flock`` (shared or
exclusive) where ``fcntl`` exists, ``msvcrt.locking`` (exclusive only) on
Windows.
"""
import errno
import glob
import itertools
import os
import os.path as osp
import shutil
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple, Union

from .errors import DiskFullError, LockingUnsupportedError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ['pid_alive', 'make_unique_dir', 'atomic_write',
           'remove_stale_partials', 'FileLock']

PARTIAL_SUFFIX = '.partial'
# Flags of a temporary file: created here, never an existing path or link.
_EXCLUSIVE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                    getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_BINARY', 0))
_DISK_FULL = (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC))


def _windows_pid_alive(pid: int) -> bool:
    """``pid_alive`` on Windows, where ``os.kill(pid, 0)`` would send
    CTRL_C_EVENT instead of probing."""
    import ctypes
    query_limited_information, still_active, access_denied = 0x1000, 259, 5
    kernel32 = ctypes.WinDLL('kernel32', use_last_error=True)
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == access_denied
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    if sys.platform == 'win32':
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def make_unique_dir(path: str) -> str:
    """Create the folder ``path``, or ``path_1``, ``path_2``, ... when it
    exists, and return the one created. ``os.mkdir`` fails if the folder
    exists, so two processes calling this at the same moment never get the
    same folder."""
    parent = osp.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    for n in itertools.count():
        candidate = path if n == 0 else f'{path}_{n}'
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            continue


def _format_size(num_bytes: int) -> str:
    """``'1.5 GiB'``-style size, exact bytes below 1 KiB."""
    if num_bytes < 1024:
        return f'{num_bytes} B'
    size, unit = float(num_bytes), 'B'
    for unit in ('KiB', 'MiB', 'GiB', 'TiB'):
        size /= 1024
        if size < 1024:
            break
    return f'{size:.1f} {unit}'


def _disk_full(path: str, needed: int) -> DiskFullError:
    folder = osp.dirname(path)
    free = shutil.disk_usage(folder).free
    return DiskFullError(
        errno.ENOSPC,
        f'No space left in {folder} to write {osp.basename(path)}: '
        f'{_format_size(free)} free, {_format_size(needed)} needed. Free '
        f'some space there or write elsewhere; {path} is unchanged')


def _fsync_dir(folder: str) -> None:
    """Persist a folder's entries (a rename) where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_temporary(path: str) -> Tuple[str, int]:
    """Create ``.<name>.<pid>-<n>.partial`` next to ``path`` exclusively
    (the first ``n`` whose name is free); return its name and descriptor,
    open for writing."""
    folder, name = osp.split(path)
    for n in itertools.count():
        tmp = osp.join(folder, f'.{name}.{os.getpid()}-{n}{PARTIAL_SUFFIX}')
        try:
            return tmp, os.open(tmp, _EXCLUSIVE_FLAGS, 0o666)
        except FileExistsError:
            continue


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to the descriptor, fsync and close it."""
    try:
        with memoryview(data) as view:
            while view:
                view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Union[str, Path], data: Union[bytes, str],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` so that
    ``path`` holds either its old content or all of ``data``, never a part.

    Creates the parent folder when needed and deletes the temporary files
    that killed writers of ``path`` left.

    Raises:
        DiskFullError: The folder lacks the space for ``data`` (checked
            before writing, and when a write fails with ``ENOSPC``).
        OSError: Any other failure; the temporary file is removed.
    """
    path = osp.abspath(os.fspath(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(encoding)
    remove_stale_partials(folder, osp.basename(path))
    if shutil.disk_usage(folder).free < len(data):
        raise _disk_full(path, len(data))
    tmp, fd = _create_temporary(path)
    try:
        _write_all(fd, data)
        os.replace(tmp, path)
    except BaseException as error:
        os.remove(tmp)
        if isinstance(error, OSError) and error.errno in _DISK_FULL:
            raise _disk_full(path, len(data)) from None
        raise
    _fsync_dir(folder)


def _partial_owner(tmp: str) -> Optional[int]:
    """The pid in ``.<name>.<pid>-<n>.partial`` (or ``.<name>.<pid>.partial``
    of earlier versions)."""
    token = osp.basename(tmp)[:-len(PARTIAL_SUFFIX)].rsplit('.', 1)[-1]
    pid = token.split('-', 1)[0]
    return int(pid) if pid.isdigit() else None


def remove_stale_partials(folder: str,
                          name: Optional[str] = None) -> List[str]:
    """Delete the temporary files that killed writers left in ``folder``
    (of the target ``name`` only, when given; those of live processes are
    kept); return the deleted paths."""
    pattern = f'.{glob.escape(name)}.*' if name else '.*'
    removed = []
    for tmp in glob.glob(osp.join(glob.escape(folder),
                                  pattern + PARTIAL_SUFFIX)):
        pid = _partial_owner(tmp)
        if pid is not None and pid != os.getpid() and not pid_alive(pid):
            os.remove(tmp)
            removed.append(tmp)
    return removed


class FileLock:
    """An advisory lock on the file ``path`` (created when absent), held
    until :meth:`release` or until the process ends.

    POSIX uses ``fcntl.flock``: shared and exclusive locks, which also
    exclude other open descriptors in this process. Windows uses
    ``msvcrt.locking`` on one byte far past the file's content: exclusive
    locks only. An exclusive holder writes its pid into the file, which
    :meth:`owner` reads.

    Args:
        path (str): The lock file.
    """

    # Windows locks this byte, so that the pid at the start stays readable.
    _WINDOWS_LOCK_OFFSET = 1 << 30

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self, shared: bool = False, blocking: bool = True) -> bool:
        """Take the lock (waiting while another holder excludes it, unless
        ``blocking`` is False); return whether it was taken.

        Raises:
            LockingUnsupportedError: ``shared`` on a platform without
                ``fcntl``.
        """
        if fcntl is not None:
            kind = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            try:
                fcntl.flock(self._fd, kind | (0 if blocking
                                              else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
        elif shared:
            raise LockingUnsupportedError(
                f'Shared lock on {self.path}: this platform has no fcntl, '
                'and msvcrt locks are exclusive only; run one process at a '
                'time on this folder.')
        elif not self._windows_lock(blocking):
            return False
        if not shared:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, str(os.getpid()).encode())
        return True

    def _windows_lock(self, blocking: bool) -> bool:
        import msvcrt
        while True:
            os.lseek(self._fd, self._WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            try:
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not blocking:
                    return False
                time.sleep(0.1)

    def owner(self) -> Optional[int]:
        """The pid that the last exclusive holder wrote, if any."""
        try:
            with open(self.path, 'rb') as f:
                text = f.read(32).strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        """Drop the lock and close the file (the file stays)."""
        if self._fd < 0:
            return
        if fcntl is None:
            import msvcrt
            os.lseek(self._fd, self._WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            try:
                msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
            except OSError:  # not locked
                pass
        os.close(self._fd)  # also drops a flock
        self._fd = -1
