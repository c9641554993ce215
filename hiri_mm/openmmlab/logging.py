"""Quieter mmengine logs: no per-parameter optimizer lines, one config dump
per job.

mmengine logs two things at INFO level that bury a run's log:

- one ``paramwise_options -- <parameter>:<option>=<value>`` line per
  parameter that a ``paramwise_cfg`` touches (140 lines for the HIRI-ViT
  Mask R-CNN demo, whose norms get no weight decay);
- the whole config at the start of every Runner, so a process that trains
  and then tests (``tools/demo.py``) logs the same config twice.

:func:`quiet_logs` installs :class:`QuietRecordFactory` as the
:mod:`logging` record factory. It demotes the ``paramwise_options`` records
to DEBUG (``log_level='DEBUG'`` shows them again), and shortens a config
dump that mostly repeats one this process already logged to the top-level
entries that changed (a test run's ``work_dir``, ``load_from`` and
visualizer name). Every other record is left as it is. mmengine makes a new
logger for every Runner, with handlers of its own, so a filter on one
logger would miss the next Runner's records; the record factory sees the
records of all loggers.
"""
import logging
import re
from typing import Callable, Dict, List, Optional

__all__ = ['QuietRecordFactory', 'quiet_logs']

PARAMWISE_PREFIX = 'paramwise_options -- '
CONFIG_PREFIX = 'Config:\n'
# A top-level entry of mmengine's config dump (``Config.pretty_text``).
_TOP_LEVEL = re.compile(r'^(\w+) = ')


def _demote_to_debug(record: logging.LogRecord) -> None:
    record.levelno = logging.DEBUG
    record.levelname = logging.getLevelName(logging.DEBUG)


def _entries(text: str) -> Dict[str, str]:
    """The top-level entries of a config dump: key -> its lines."""
    entries: Dict[str, str] = {}
    key = ''
    for line in text.splitlines(keepends=True):
        match = _TOP_LEVEL.match(line)
        if match:
            key = match.group(1)
        entries[key] = entries.get(key, '') + line
    return entries


def _changed(before: Dict[str, str],
             after: Dict[str, str]) -> Optional[List[str]]:
    """Keys of ``after`` whose entries differ from ``before``'s, or None when
    ``after`` lacks a key of ``before``."""
    if not before.keys() <= after.keys():
        return None
    return [key for key, text in after.items() if before.get(key) != text]


class QuietRecordFactory:
    """A log-record factory (:func:`logging.setLogRecordFactory`) that
    demotes mmengine's ``paramwise_options`` records to DEBUG and shortens
    repeated config dumps.

    A config dump is shortened when an earlier dump of this process has
    every one of its top-level keys and the entries that differ take less
    than half of its lines; the record then keeps only those entries.

    Args:
        factory (Callable): The record factory it wraps, usually the one
            installed before it (:class:`logging.LogRecord` by default).
    """

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory
        self._logged_configs: List[Dict[str, str]] = []

    def __call__(self, *args, **kwargs) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        if isinstance(record.msg, str):
            if record.msg.startswith(PARAMWISE_PREFIX):
                _demote_to_debug(record)
            elif record.msg.startswith(CONFIG_PREFIX):
                self._shorten_repeated_config(record)
        return record

    def _shorten_repeated_config(self, record: logging.LogRecord) -> None:
        text = record.msg[len(CONFIG_PREFIX):]
        entries = _entries(text)
        candidates = [changed for changed in (
            _changed(logged, entries) for logged in self._logged_configs)
            if changed is not None]
        self._logged_configs.append(entries)
        if not candidates:
            return
        changed = min(candidates, key=lambda keys: sum(
            entries[key].count('\n') for key in keys))
        kept = ''.join(entries[key] for key in changed)
        if 2 * kept.count('\n') >= text.count('\n'):
            return
        record.msg = 'Config: as logged above by this process' + (
            ', except:\n' + kept.rstrip('\n') if changed else '')


def quiet_logs() -> QuietRecordFactory:
    """Install :class:`QuietRecordFactory` around the current record factory,
    once per process.

    Returns:
        QuietRecordFactory: The installed factory (the same one on every
        call).
    """
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, QuietRecordFactory):
        factory = QuietRecordFactory(factory)
        logging.setLogRecordFactory(factory)
    return factory
