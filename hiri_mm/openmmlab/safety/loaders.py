"""Weights-only loaders for every checkpoint source of mmengine 0.10.7.

mmengine's :class:`~mmengine.runner.CheckpointLoader` picks a loader by the
checkpoint's URL scheme; its ``http(s)://`` loader (reached also through
``torchvision://``, ``open-mmlab://`` and ``mmcls://``), ``pavi://`` and
``s3://`` unpickle with ``weights_only=False``, which runs any code a file
holds. :data:`SAFE_SCHEMES` has one loader per scheme that reads the bytes
as mmengine does and unpickles them with ``weights_only=True``:

- a local path (no scheme): the file;
- ``http://``, ``https://``: torch's hub cache (``$TORCH_HOME/hub/
  checkpoints``), downloaded there first when absent, under a name that
  holds a hash of the whole URL (:func:`hub_cache_file`), so two URLs that
  end in the same file name never share a cached file;
- ``torchvision://``, ``modelzoo://``: the URL in mmengine's torchvision
  table;
- ``open-mmlab://``, ``openmmlab://``: the URL (or the file under
  ``$MMENGINE_HOME``) in mmengine's open-mmlab table;
- ``mmcls://``: the URL in mmengine's mmcls table;
- ``pavi://``: pavi's model cloud, through a temporary file;
- ``s3://``, ``petrel://`` (also ``<cluster>:s3://``): mmengine's petrel
  file backend.

A file holding anything outside the allow-list
(:mod:`~hiri_mm.openmmlab.safety.allow_list`) is refused with
:class:`~hiri_mm.errors.UnsafeCheckpointError` (a
:class:`pickle.UnpicklingError`) naming its source, before any of its code
runs; a damaged one with :class:`~hiri_mm.errors.CorruptCheckpointError`.
"""
import contextlib
import hashlib
import io
import os
import os.path as osp
import pickle
import re
import zipfile
from tempfile import TemporaryDirectory
from typing import IO, Callable, Dict, Iterator, Optional, Union
from urllib.parse import urlparse

import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.fileio import get_file_backend
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import (_get_mmengine_home,
                                        _process_mmcls_checkpoint,
                                        get_deprecated_model_names,
                                        get_external_models,
                                        get_mmcls_models,
                                        get_torchvision_models)

from ...errors import CorruptCheckpointError, UnsafeCheckpointError

__all__ = ['SAFE_SCHEMES', 'load_checkpoint', 'hub_cache_file',
           'unsafe_schemes', 'use_safe_loaders']

MapLocation = Optional[Union[str, torch.device, Callable, dict]]

# Unpickling errors that mean a damaged file rather than a refused object.
CORRUPT_PICKLE_SIGNS = ('Unsupported operand', 'String is too long',
                        'persistent', 'invalid load key', 'truncated')
SAFE_WAYS = (
    'If you trust the file, load only its tensors: re-save them from the '
    "environment that wrote it (torch.save({'state_dict': "
    "model.state_dict()}, path)), or allow-list the one type named above "
    'with torch.serialization.add_safe_globals([...]) before loading.')


def _delete_hint(cached: Optional[str]) -> str:
    return f' Delete {cached} to download it again.' if cached else ''


def _refused_global(error: Exception) -> str:
    """What torch's weights-only unpickler refused, without torch's advice
    (which suggests ``weights_only=False``, i.e. running the file's code)."""
    text = str(error)
    found = re.search(r'WeightsUnpickler error: (.*?)(?: Please use|\n|$)',
                      text)
    if found:
        return found.group(1).strip()
    parts = [p.strip() for p in text.split('\n\n') if p.strip()
             and not p.strip().startswith(('Weights only load failed',
                                           'Check the documentation'))]
    return ' '.join(parts)


@contextlib.contextmanager
def _errors_naming(source: str, url: Optional[str] = None,
                   cached: Optional[str] = None) -> Iterator:
    """Re-raise unpickling and format errors naming the checkpoint's
    ``source`` (and the ``url`` it resolved to, and the local copy of a
    download, which must be deleted to fetch it again)."""
    details = [d for d in (url if url != source else None,
                           f'local copy: {cached}' if cached else None) if d]
    where = f'{source} ({", ".join(details)})' if details else source
    try:
        yield
    except pickle.UnpicklingError as e:
        if any(sign in str(e) for sign in CORRUPT_PICKLE_SIGNS):
            raise CorruptCheckpointError(
                f'Checkpoint {where} is truncated or corrupt and cannot be '
                f'read ({_refused_global(e)}).{_delete_hint(cached)}') \
                from None
        raise UnsafeCheckpointError(
            f'Refusing to load {where}: it holds objects outside the '
            f'allow-list of safe types (weights_only=True); none of its code '
            f'was run. {_refused_global(e)} {SAFE_WAYS}') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as e:
        raise CorruptCheckpointError(
            f'Checkpoint {where} is truncated or corrupt and cannot be read '
            f'({type(e).__name__}: {e}).{_delete_hint(cached)}') from None


def safe_torch_load(source: str, f: Union[str, IO[bytes]],
                    map_location: MapLocation = None) -> dict:
    """``torch.load(f, weights_only=True)`` whose errors name ``source``.

    Args:
        source (str): What the user asked for (path or URL), for messages.
        f (str | IO[bytes]): The local file or an in-memory buffer.
        map_location: As for :func:`torch.load`.
    """
    with _errors_naming(source):
        return torch.load(f, map_location=map_location, weights_only=True)


def load_from_local(filename: str, map_location: MapLocation = None) -> dict:
    """Load a local checkpoint file safely; errors name the file: missing,
    refused (unsafe objects) or truncated/corrupt."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, filename, map_location)


def hub_cache_file(url: str, model_dir: Optional[str] = None) -> str:
    """Where :func:`load_from_http` keeps ``url``: torch's hub cache (or
    ``model_dir``), file ``<16 hex digits of the URL's SHA-256>_<name>``.
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return osp.join(model_dir,
                    f'{digest}_{osp.basename(urlparse(url).path)}')


def load_from_http(url: str, map_location: MapLocation = None,
                   model_dir: Optional[str] = None,
                   progress: bool = os.isatty(0),
                   source: Optional[str] = None) -> dict:
    """Load ``http(s)://`` checkpoints through torch's hub cache, as
    mmengine does (download on first use, rank 0 first when distributed),
    but keyed by the whole URL and with ``weights_only=True``.

    Args:
        url (str): The checkpoint's URL.
        map_location: As for :func:`torch.load`.
        model_dir (str, optional): The cache; default torch's hub cache.
        progress (bool): Show the download's progress.
        source (str, optional): What the user named, e.g.
            ``torchvision://resnet50``, for error messages (default url).
    """
    rank, world_size = get_dist_info()
    cached = hub_cache_file(url, model_dir)

    def load() -> dict:
        with _errors_naming(source or url, url, cached):
            return torch.hub.load_state_dict_from_url(
                url, model_dir=osp.dirname(cached),
                map_location=map_location, progress=progress,
                file_name=osp.basename(cached), weights_only=True)

    if rank == 0:
        checkpoint = load()
    if world_size > 1:
        barrier()
        if rank > 0:
            checkpoint = load()
    return checkpoint


def _table_entry(table: Dict[str, str], name: str, source: str) -> str:
    if name not in table:
        raise KeyError(f'{source}: no model named {name!r} in mmengine\'s '
                       f'table of this scheme (known: {len(table)} names, '
                       f'e.g. {sorted(table)[:5]})')
    return table[name]


def load_from_torchvision(filename: str,
                          map_location: MapLocation = None) -> dict:
    """``torchvision://NAME`` (or deprecated ``modelzoo://NAME``): the URL
    of NAME in mmengine's torchvision table, loaded by
    :func:`load_from_http`."""
    name = filename.split('://', 1)[1]
    url = _table_entry(get_torchvision_models(), name, filename)
    return load_from_http(url, map_location=map_location, source=filename)


def load_from_openmmlab(filename: str,
                        map_location: MapLocation = None) -> dict:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``: a URL, or a file under
    ``$MMENGINE_HOME``, from mmengine's open-mmlab table (deprecated names
    follow mmengine's renames)."""
    name = filename.split('://', 1)[1]
    name = get_deprecated_model_names().get(name, name)
    target = _table_entry(get_external_models(), name, filename)
    if target.startswith(('http://', 'https://')):
        return load_from_http(target, map_location=map_location,
                              source=filename)
    path = osp.join(_get_mmengine_home(), target)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{filename}: {path} can not be found.')
    with _errors_naming(filename, path):
        return torch.load(path, map_location=map_location, weights_only=True)


def load_from_mmcls(filename: str, map_location: MapLocation = None) -> dict:
    """``mmcls://NAME``: the URL of NAME in mmengine's mmcls table; keeps
    the ``backbone.`` weights as mmengine does."""
    url = _table_entry(get_mmcls_models(), filename[len('mmcls://'):],
                       filename)
    return _process_mmcls_checkpoint(
        load_from_http(url, map_location=map_location, source=filename))


def load_from_pavi(filename: str, map_location: MapLocation = None) -> dict:
    """``pavi://PATH``: downloaded from pavi's model cloud into a temporary
    folder, then loaded safely."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(
            f'{filename}: install pavi to load checkpoints from its model '
            'cloud.') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        downloaded = osp.join(tmp_dir, model.name)
        model.download(downloaded)
        return safe_torch_load(filename, downloaded, map_location)


def load_from_ceph(filename: str, map_location: MapLocation = None) -> dict:
    """``s3://`` / ``petrel://`` (optionally ``<cluster>:s3://``): read
    through mmengine's petrel file backend, then loaded safely."""
    backend = get_file_backend(filename, backend_args=dict(backend='petrel'))
    with io.BytesIO(backend.get(filename)) as buffer:
        return safe_torch_load(filename, buffer, map_location)


# Every scheme CheckpointLoader of mmengine 0.10.7 registers, with its safe
# replacement (the prefixes are mmengine's, regular expressions included).
SAFE_SCHEMES = {
    '': load_from_local,
    'http://': load_from_http,
    'https://': load_from_http,
    'modelzoo://': load_from_torchvision,
    'torchvision://': load_from_torchvision,
    'open-mmlab://': load_from_openmmlab,
    'openmmlab://': load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    'pavi://': load_from_pavi,
    r'(\S+\:)?s3://': load_from_ceph,
    r'(\S+\:)?petrel://': load_from_ceph,
}


def use_safe_loaders() -> None:
    """Register :data:`SAFE_SCHEMES` in mmengine's CheckpointLoader.

    ``force=True`` is the point here: each prefix already has mmengine's
    own (unsafe) loader, which this replaces.
    """
    for prefix, loader in SAFE_SCHEMES.items():
        CheckpointLoader.register_scheme(prefix, loader=loader, force=True)


def unsafe_schemes() -> Dict[str, Callable]:
    """Schemes registered in CheckpointLoader whose loader is not one of
    :data:`SAFE_SCHEMES` (e.g. added by another package); empty when all
    sources load safely."""
    safe = set(SAFE_SCHEMES.values())
    return {prefix: loader for prefix, loader in
            CheckpointLoader._schemes.items() if loader not in safe}


def load_checkpoint(source: str, map_location: MapLocation = None) -> dict:
    """Load a checkpoint from a local path or any URL scheme above, safely
    (what scripts outside a Runner should call)."""
    return CheckpointLoader.load_checkpoint(source, map_location)
