"""mmengine file backends: :class:`AtomicLocalBackend` is mmengine's local
backend with every ``put`` done by :func:`hiri_mm.fileutils.atomic_write`
(temporary file, fsync, rename), so a file is either complete or absent;
:class:`~hiri_mm.openmmlab.hooks.AtomicCheckpointHook` saves Runner
checkpoints through it."""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from ..fileutils import atomic_write

ATOMIC_BACKEND = 'hiri_atomic_local'


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's :class:`~mmengine.fileio.LocalBackend` whose ``put`` and
    ``put_text`` write through :func:`atomic_write`.

    Select it with ``backend_args=dict(backend='hiri_atomic_local')``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` (bytes) to ``filepath`` atomically."""
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write ``obj`` (text) to ``filepath`` atomically."""
        atomic_write(filepath, obj, encoding)
