"""Crash-safe file writing (plain Python, used by the core and the adapter).

:func:`atomic_write` writes into a temporary file in the target's folder,
flushes and fsyncs it, renames it over the target (``os.replace`` is atomic
on POSIX and Windows) and fsyncs the folder so that the rename itself
survives a power cut: the target holds its old content or all of the new,
never a part. A process killed while writing leaves ``.<name>.<pid>.partial``
next to the target; :func:`remove_stale_partials` deletes those of processes
that no longer run.
"""
import glob
import itertools
import os
import os.path as osp
from pathlib import Path
from typing import List, Union

PARTIAL_SUFFIX = '.partial'


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
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


def atomic_write(path: Union[str, Path], data: Union[bytes, str],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` so that
    ``path`` holds either its old content or all of ``data``, never a part.

    Creates the parent folder when needed. On any error (disk full, a
    signal) the temporary file is removed and the error re-raised.
    """
    path = osp.abspath(os.fspath(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(encoding)
    tmp = osp.join(folder,
                   f'.{osp.basename(path)}.{os.getpid()}{PARTIAL_SUFFIX}')
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def remove_stale_partials(folder: str) -> List[str]:
    """Delete the temporary files that killed writers left in ``folder``
    (those of live processes are kept); return the deleted paths."""
    removed = []
    for tmp in glob.glob(osp.join(glob.escape(folder),
                                  f'.*{PARTIAL_SUFFIX}')):
        pid = osp.basename(tmp)[:-len(PARTIAL_SUFFIX)].rsplit('.', 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and \
                not pid_alive(int(pid)):
            os.remove(tmp)
            removed.append(tmp)
    return removed
