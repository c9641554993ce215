"""The exceptions hiri_mm raises (plain Python: the core, the data
generators and the OpenMMLab adapter all use them).

Every error a user can fix derives from :class:`HiriMMError`; its message
names the file or setting at fault and the fix. Library code raises these;
the scripts in ``tools/`` catch :class:`HiriMMError` and exit with its
message and a non-zero status. Classes that stand for a built-in kind of
error also derive from it (``except OSError`` still catches a full disk).
"""
import pickle

__all__ = [
    'HiriMMError', 'UsageError', 'ConfigCheckError', 'DataCheckError',
    'CheckpointError', 'UnsafeCheckpointError', 'CorruptCheckpointError',
    'CheckpointMismatchError', 'EmbeddedConfigError', 'ResumeError',
    'WorkDirInUseError', 'DiskFullError', 'LockingUnsupportedError',
    'IncompleteDatasetError', 'DatasetInUseError'
]


class HiriMMError(Exception):
    """Base class of the errors that a user can fix."""


class UsageError(HiriMMError, ValueError):
    """A command-line option that the config cannot serve (e.g. ``--tta``
    without ``tta_model``)."""


class ConfigCheckError(HiriMMError, ValueError):
    """A config disagrees with itself or its data: head strides or widths
    against the backbone, class counts, dataset paths."""


class DataCheckError(HiriMMError, ValueError):
    """Annotation files or images that training would fail on."""


class CheckpointError(HiriMMError):
    """Base class of the errors about a checkpoint file."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint holds objects outside the weights-only allow-list; none
    of its code was run."""


class CorruptCheckpointError(CheckpointError, RuntimeError):
    """A checkpoint file is truncated or damaged."""


class CheckpointMismatchError(CheckpointError, RuntimeError):
    """A checkpoint's weights do not fit the model: missing, unexpected or
    mis-shaped keys, or values that are not finite."""


class EmbeddedConfigError(CheckpointError, RuntimeError):
    """A config would have been read from the text stored in a checkpoint
    (running code from the file): a config file must be given instead."""


class ResumeError(HiriMMError, RuntimeError):
    """``--resume`` cannot tell where to continue from without risking the
    checkpoints in the work dir."""


class WorkDirInUseError(HiriMMError, RuntimeError):
    """Another running process trains into the same work dir."""


class DiskFullError(HiriMMError, OSError):
    """A file could not be written for lack of space; the earlier file (if
    any) is untouched."""


class LockingUnsupportedError(HiriMMError, OSError):
    """The platform offers no file lock of the kind asked for."""


class IncompleteDatasetError(HiriMMError, RuntimeError):
    """A data folder exists that is not a complete generated set."""


class DatasetInUseError(HiriMMError, RuntimeError):
    """Another process uses the set in a folder, and this one asks for a
    different set there."""
