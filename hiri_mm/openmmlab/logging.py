"""Quieter mmengine logs: no per-parameter optimizer lines, one config dump
per job.

mmengine logs two things at INFO level that bury a run's log:

- one ``paramwise_options -- <parameter>:<option>=<value>`` line per
  parameter that a ``paramwise_cfg`` touches (306 lines for the HIRI-ViT
  Mask R-CNN demo, whose norms get no weight decay);
- the whole config at the start of every Runner, so a process that trains
  and then tests (``tools/demo.py``) logs the same config twice.

:func:`quiet_logs` installs :class:`QuietRecordFactory` as the
:mod:`logging` record factory. It demotes the ``paramwise_options`` records
to DEBUG (``log_level='DEBUG'`` shows them again), and replaces a config
dump that repeats one this process already logged, apart from the keys that
name a run's own files (:data:`RUN_KEYS`), by one line that lists the ones
that changed. Every other record is left as it is. mmengine makes a new logger for
every Runner, with handlers of its own, so a filter on one logger would miss
the next Runner's records; the record factory sees the records of all
loggers.
"""
import hashlib
import logging
import re
from typing import Callable, Dict, List

__all__ = ['QuietRecordFactory', 'quiet_logs', 'RUN_KEYS']

PARAMWISE_PREFIX = 'paramwise_options -- '
CONFIG_PREFIX = 'Config:\n'
# Top-level config keys that differ between the runs of one job (training,
# then a test in a work dir of its own, from the trained checkpoint).
RUN_KEYS = ('work_dir', 'load_from', 'resume', 'launcher')
_RUN_KEY_LINE = re.compile(r'^(?:%s) = .*$\n?' % '|'.join(RUN_KEYS),
                           re.MULTILINE)


def _demote_to_debug(record: logging.LogRecord) -> None:
    record.levelno = logging.DEBUG
    record.levelname = logging.getLevelName(logging.DEBUG)


class QuietRecordFactory:
    """A log-record factory (:func:`logging.setLogRecordFactory`) that
    demotes mmengine's ``paramwise_options`` records to DEBUG and shortens
    repeated config dumps.

    Args:
        factory (Callable): The record factory it wraps, usually the one
            installed before it (:class:`logging.LogRecord` by default).
    """

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory
        # The run keys' lines of each config logged so far, by its digest.
        self._logged_configs: Dict[str, List[str]] = {}

    def __call__(self, *args, **kwargs) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        if isinstance(record.msg, str):
            if record.msg.startswith(PARAMWISE_PREFIX):
                _demote_to_debug(record)
            elif record.msg.startswith(CONFIG_PREFIX):
                self._shorten_repeated_config(record)
        return record

    def _shorten_repeated_config(self, record: logging.LogRecord) -> None:
        """Keep the first dump of a config; a later dump that differs only
        in :data:`RUN_KEYS` becomes one line with the changed keys."""
        text = record.msg[len(CONFIG_PREFIX):]
        run_lines = [line.strip() for line in _RUN_KEY_LINE.findall(text)]
        body = _RUN_KEY_LINE.sub('', text)
        digest = hashlib.sha256(body.encode()).hexdigest()
        first = self._logged_configs.get(digest)
        if first is None:
            self._logged_configs[digest] = run_lines
            return
        changed = [line for line in run_lines if line not in first]
        record.msg = 'Config: as logged above by this process' + (
            ', with ' + '; '.join(changed) if changed else '')


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
