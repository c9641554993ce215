"""Configs stored inside checkpoints are read as data, never run.

mmengine keeps the training config as Python text in each Runner
checkpoint (``meta['config']``, ``message_hub['runtime_info']['cfg']``)
and turns it back into a Config with ``Config.fromstring``, which executes
the text: ``Runner.resume`` (to compare GPU counts) and, when no config is
given, ``BaseInferencer`` (``DetInferencer(weights=...)``,
``MMSegInferencer(weights=...)``). A checkpoint can therefore run code
through a plain string that the weights-only unpickler lets through.

:func:`parse_config_text` reads such text without executing it: only
assignments of literals (strings, numbers, ``True``/``False``/``None``,
lists, tuples, dicts, ``dict(key=...)`` calls and negative numbers), which
is what mmengine's ``Config.pretty_text`` writes. :func:`guard` makes
``Config.fromstring`` parse this way while the two callers above run:
the inferencer then refuses a stored config that is not plain data with
:class:`~hiri_mm.errors.EmbeddedConfigError` (pass the config file
instead), and resuming skips its GPU-count check for such text, with a
warning, instead of running it.
"""
import ast
import contextlib
import functools
import logging
import threading
from typing import Any, Callable, Dict, Iterator

from mmengine.config import Config
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log
from mmengine.runner import FlexibleRunner, Runner

from ...errors import EmbeddedConfigError

__all__ = ['parse_config_text', 'data_only_config_strings', 'guard']

_SIGNS = {ast.USub: lambda v: -v, ast.UAdd: lambda v: +v}


def _literal(node: ast.AST) -> Any:
    """The value of a data-only expression; raises ValueError otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_literal(e) for e in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k): _literal(v)
                for k, v in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args
            and all(k.arg is not None for k in node.keywords)):
        return {k.arg: _literal(k.value) for k in node.keywords}
    if isinstance(node, ast.UnaryOp) and type(node.op) in _SIGNS and \
            isinstance(node.operand, ast.Constant) and \
            isinstance(node.operand.value, (int, float)):
        return _SIGNS[type(node.op)](node.operand.value)
    raise ValueError(f'line {node.lineno}: {ast.unparse(node)[:60]!r} is '
                     'not plain data')


def parse_config_text(text: str) -> Dict[str, Any]:
    """The variables of a config's Python text, read without executing it.

    Raises:
        ValueError: The text holds anything but ``name = <literal>``
            statements (a call, an import, an attribute, ...), or is not
            Python.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise ValueError(f'not Python ({e.msg}, line {e.lineno})') from None
    variables = {}
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise ValueError(
                f'line {statement.lineno}: {ast.unparse(statement)[:60]!r} '
                'is not an assignment of plain data')
        variables[statement.targets[0].id] = _literal(statement.value)
    return variables


_FROMSTRING = Config.fromstring
_PATCH_LOCK = threading.RLock()


@contextlib.contextmanager
def data_only_config_strings(on_code: Callable[[ValueError], Config]
                             ) -> Iterator[None]:
    """While inside, ``Config.fromstring(text, '.py')`` returns the
    :func:`parse_config_text` of ``text``; for text that is not plain data
    it returns ``on_code(error)`` (or lets it raise)."""

    def fromstring(cfg_str: str, file_format: str) -> Config:
        if file_format != '.py':
            return _FROMSTRING(cfg_str, file_format)
        try:
            return Config(parse_config_text(cfg_str))
        except ValueError as error:
            return on_code(error)

    with _PATCH_LOCK:
        previous = Config.__dict__['fromstring']
        Config.fromstring = staticmethod(fromstring)
        try:
            yield
        finally:
            Config.fromstring = previous


def _refuse(error: ValueError) -> Config:
    raise EmbeddedConfigError(
        f'The checkpoint stores its config as Python text that is not plain '
        f'data ({error}); hiri_mm does not run code from a checkpoint. Pass '
        'the config file as well, e.g. DetInferencer(model=CONFIG, '
        'weights=CHECKPOINT).')


def _skip(error: ValueError) -> Config:
    print_log(
        f'Resuming: the checkpoint stores its config as Python text that is '
        f'not plain data ({error}); it is not run, so the check of the GPU '
        f'count it was trained with is skipped.', logger='current',
        level=logging.WARNING)
    return Config()


def _guarded(method: Callable, on_code: Callable) -> Callable:

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with data_only_config_strings(on_code):
            return method(*args, **kwargs)

    wrapper.__hiri_mm_guarded__ = True
    return wrapper


def guard() -> None:
    """Read the configs in checkpoints as data in mmengine's inferencers
    (``BaseInferencer.__init__``: refuse other text) and resumes
    (``Runner.resume``, ``FlexibleRunner.resume``: skip other text)."""
    for owner, name, on_code in ((BaseInferencer, '__init__', _refuse),
                                 (Runner, 'resume', _skip),
                                 (FlexibleRunner, 'resume', _skip)):
        method = getattr(owner, name)
        if not getattr(method, '__hiri_mm_guarded__', False):
            setattr(owner, name, _guarded(method, on_code))
