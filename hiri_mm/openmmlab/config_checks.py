"""Config consistency checks that ``tools/train.py`` runs before it builds
a Runner (the data itself is checked by :mod:`.data_checks`, the paths to it
by :mod:`.data_paths`).

- :func:`stride_problems`: a head stride that disagrees with the HIRI-ViT
  feature map it describes does not crash, the detector trains badly; it
  derives every level's stride from the backbone's own ``out_strides`` and
  the FPN's settings and lists each field of the heads that says otherwise.
  For a segmentor it checks the stage each decode or auxiliary head reads
  (``in_index``) and its ``in_channels``, which would otherwise fail only
  at the first forward pass, after the Runner and the data are set up.
- :func:`check_num_classes`: the heads' ``num_classes`` match the dataset.
- :func:`field_type_problems`: every field these checks read has the type
  mmdet / mmseg need (``num_outs='5'`` is named with its config path here,
  not a ``TypeError`` from deep inside a check or the Runner).

Each ``check_*`` raises :class:`~hiri_mm.errors.ConfigCheckError` listing
every field at fault.
"""
from typing import Any, Callable, Iterator, List, Optional, Tuple

from mmengine.config import Config, ConfigDict

from ..errors import ConfigCheckError
from ..models import HIRIViT

__all__ = ['walk_dicts', 'leaf_datasets', 'type_name',
           'field_type_problems', 'check_field_types', 'fpn_strides',
           'stride_problems', 'check_strides', 'dataset_class',
           'dataset_classes', 'check_num_classes']


# ---------------------------------------------------------------- walking
def walk_dicts(node: Any, path: str = 'model') -> Iterator[Tuple[str, dict]]:
    """Yield ``(path, dict)`` for every dict in a nested config."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk_dicts(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from walk_dicts(value, f'{path}[{i}]')


def leaf_datasets(dataset: ConfigDict) -> Iterator[ConfigDict]:
    """Leaf datasets of (possibly wrapped or concatenated) dataset configs."""
    if 'datasets' in dataset:
        for child in dataset.datasets:
            yield from leaf_datasets(child)
    elif 'dataset' in dataset:
        yield from leaf_datasets(dataset.dataset)
    else:
        yield dataset


def type_name(node: Optional[dict]) -> str:
    """``'FPN'`` for ``type='mmdet.FPN'``; ``''`` without a string type."""
    kind = (node or {}).get('type')
    return kind.split('.')[-1] if isinstance(kind, str) else ''


# ---------------------------------------------------------------- types
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _is_ints(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        map(_is_int, value))


def _is_stride(value: Any) -> bool:
    return _is_int(value) or (_is_ints(value) and len(value) == 2)


# Field name -> (what it must be, test), for the fields the checks read
# wherever they appear in ``model``.
FieldType = Tuple[str, Callable[[Any], bool]]
FIELD_TYPES = {
    'num_outs': ('a positive int', lambda v: _is_int(v) and v > 0),
    'start_level': ('an int >= 0', lambda v: _is_int(v) and v >= 0),
    'end_level': ('an int', _is_int),
    'in_channels': ('an int or a non-empty list of ints',
                    lambda v: _is_int(v) or _is_ints(v)),
    'pad_size_divisor': ('a positive int', lambda v: _is_int(v) and v > 0),
    'featmap_strides': ('a non-empty list of ints', _is_ints),
    'in_index': ('an int or a non-empty list of ints',
                 lambda v: _is_int(v) or _is_ints(v)),
    'num_classes': ('a positive int', lambda v: _is_int(v) and v > 0),
    'finest_scale': ('a number', _is_number),
}
# The strides of anchor / prior / point generators: one int or one
# (width, height) pair per level.
GENERATOR_STRIDES: FieldType = (
    'a non-empty list of ints or (w, h) pairs of ints',
    lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(
        map(_is_stride, v)))
GENERATORS = ('anchor_generator', 'prior_generator', 'point_generator')


def field_type_problems(cfg: Config) -> List[str]:
    """Every field of ``cfg.model`` that the config checks read and that
    has the wrong type, as ``'<config path> = <value> (<its type>):
    expected <what>'``, e.g. ``model.neck.num_outs = '5' (str): expected a
    positive int``."""
    problems = []
    for path, node in walk_dicts(cfg.get('model') or {}):
        fields = [(key, FIELD_TYPES[key]) for key in node
                  if key in FIELD_TYPES]
        if path.rsplit('.', 1)[-1] in GENERATORS and 'strides' in node:
            fields.append(('strides', GENERATOR_STRIDES))
        for key, (expected, valid) in fields:
            value = node[key]
            if not valid(value):
                problems.append(f'{path}.{key} = {value!r} '
                                f'({type(value).__name__}): expected '
                                f'{expected}')
    return problems


def check_field_types(cfg: Config) -> None:
    """Raise :class:`ConfigCheckError` listing :func:`field_type_problems`."""
    problems = field_type_problems(cfg)
    if problems:
        raise ConfigCheckError(
            f'{cfg.filename}: fields of the wrong type (numbers written as '
            'strings, empty lists):\n' +
            '\n'.join(f'  {p}' for p in problems) +
            '\nWrite each as the type named (in --cfg-options: '
            'model.neck.num_outs=5, not "5").')


# ---------------------------------------------------------------- strides
# mmdet's RoI extractors map an RoI of side `finest_scale` to the finest
# level; its default 56 goes with a stride-4 finest level.
FINEST_SCALE_PER_STRIDE = 56 // 4


def fpn_strides(backbone: HIRIViT, neck: ConfigDict) -> List[int]:
    """Strides of an FPN's outputs over ``backbone``'s outputs."""
    start, end = neck.get('start_level', 0), neck.get('end_level', -1)
    strides = list(backbone.out_strides[start:None if end == -1 else end + 1])
    while len(strides) < neck.num_outs:
        strides.append(strides[-1] * 2)
    return strides


def _fpn_problems(model: ConfigDict, backbone: HIRIViT) -> List[str]:
    """FPN ``in_channels``, anchor / RoI strides and padding that disagree
    with ``backbone``."""
    neck = model.neck
    problems = []
    if list(neck.in_channels) != list(backbone.out_channels):
        problems.append(f'model.neck.in_channels {list(neck.in_channels)} != '
                        f'backbone out_channels {list(backbone.out_channels)}')
    levels = fpn_strides(backbone, neck)
    for path, node in walk_dicts(model):
        for key in ('anchor_generator', 'prior_generator'):
            if key in node and 'strides' in node[key]:
                strides = [s if isinstance(s, int) else s[0]
                           for s in node[key].strides]
                if strides != levels:
                    problems.append(f'{path}.{key}.strides {strides} != FPN '
                                    f'level strides {levels}')
        if 'featmap_strides' in node:
            strides = list(node.featmap_strides)
            if strides != levels[:len(strides)]:
                problems.append(f'{path}.featmap_strides {strides} != FPN '
                                f'level strides {levels[:len(strides)]}')
            finest = node.get('finest_scale', 56)
            if finest != FINEST_SCALE_PER_STRIDE * strides[0]:
                problems.append(
                    f'{path}.finest_scale {finest} != '
                    f'{FINEST_SCALE_PER_STRIDE * strides[0]} for a finest '
                    f'stride of {strides[0]}')
    pad = model.data_preprocessor.get('pad_size_divisor', 1)
    need = max(backbone.out_strides)
    if len(levels) > len(backbone.out_strides) - neck.get('start_level', 0):
        need *= 2
    if pad % need:
        problems.append(f'model.data_preprocessor.pad_size_divisor {pad} is '
                        f'not a multiple of {need}')
    return problems


def _segmentor_heads(model: ConfigDict) -> Iterator[Tuple[str, dict]]:
    yield 'model.decode_head', model.decode_head
    auxiliary = model.get('auxiliary_head')
    if isinstance(auxiliary, dict):
        yield 'model.auxiliary_head', auxiliary
    for i, head in enumerate(auxiliary or []):
        if isinstance(head, dict):
            yield f'model.auxiliary_head[{i}]', head


def _head_problems(model: ConfigDict, backbone: HIRIViT) -> List[str]:
    """Segmentor heads (reading the backbone directly) whose ``in_index``
    is not a returned stage or whose ``in_channels`` is not its width."""
    widths = list(backbone.out_channels)
    problems = []
    for path, head in _segmentor_heads(model):
        index = head.get('in_index', -1)
        indices = list(index) if isinstance(index, (list, tuple)) else [index]
        if any(not isinstance(i, int) or not -len(widths) <= i < len(widths)
               for i in indices):
            problems.append(
                f'{path}.in_index {index} is not among the {len(widths)} '
                f'returned stages (backbone out_indices '
                f'{list(backbone.out_indices)})')
            continue
        read = [widths[i] for i in indices]
        expected = read if isinstance(index, (list, tuple)) else read[0]
        channels = head.get('in_channels')
        if isinstance(channels, tuple):
            channels = list(channels)
        if channels != expected:
            problems.append(f'{path}.in_channels {channels} != backbone '
                            f'out_channels {expected} at in_index {index}')
    return problems


def stride_problems(cfg: Config) -> List[str]:
    """Every field of ``cfg.model`` that disagrees with its HIRIViT
    backbone's outputs; an empty list when the config is consistent or has
    no HIRIViT backbone.

    Checked: a detector's FPN ``in_channels``, its heads' anchor and RoI
    strides and the padding (a neck with ``num_outs``); a segmentor's
    decode and auxiliary heads' ``in_index`` and ``in_channels`` (no neck).
    Fields of the wrong type are returned instead (see
    :func:`field_type_problems`): the comparisons need the right types.
    """
    model = cfg.get('model') or {}
    if type_name(model.get('backbone')) != 'HIRIViT':
        return []
    wrong_types = field_type_problems(cfg)
    if wrong_types:
        return wrong_types
    backbone = HIRIViT(**{k: v for k, v in model.backbone.items()
                          if k not in ('type', '_delete_', 'init_cfg')})
    neck = model.get('neck')
    if isinstance(neck, dict) and 'num_outs' in neck:
        return _fpn_problems(model, backbone)
    if neck is None and isinstance(model.get('decode_head'), dict):
        return _head_problems(model, backbone)
    return []


def check_strides(cfg: Config) -> None:
    """Raise :class:`ConfigCheckError` listing :func:`field_type_problems`,
    else :func:`stride_problems`."""
    check_field_types(cfg)
    problems = stride_problems(cfg)
    if problems:
        raise ConfigCheckError(
            f'{cfg.filename} disagrees with the HIRI-ViT backbone\'s '
            'outputs (a detector would train, badly; a segmentor would '
            'fail at its first step):\n' +
            '\n'.join(f'  {p}' for p in problems) +
            '\nSee "Detection and segmentation configs" in the README.')


# ---------------------------------------------------------------- classes
def dataset_class(cfg: Config, dataset: ConfigDict) -> Optional[type]:
    """The registered class of a leaf dataset config (None if unknown); a
    type without a scope is looked up in the config's ``default_scope``."""
    from mmengine.registry import DATASETS
    kind = dataset.get('type')
    if not isinstance(kind, str):
        return kind
    if '.' not in kind:
        kind = f'{cfg.get("default_scope") or "mmengine"}.{kind}'
    return DATASETS.get(kind)


def dataset_classes(cfg: Config, dataset: ConfigDict) -> Tuple[str, ...]:
    """Class names a leaf dataset config will report (its metainfo first,
    then the dataset class's own METAINFO); empty when unknown."""
    metainfo = dataset.get('metainfo') or {}
    if 'classes' in metainfo:
        return tuple(metainfo['classes'])
    dataset_cls = dataset_class(cfg, dataset)
    return tuple(getattr(dataset_cls, 'METAINFO', {}).get('classes', ()))


def check_num_classes(cfg: Config) -> None:
    """Raise :class:`ConfigCheckError` when a head's ``num_classes`` is not
    an int (see :func:`check_field_types`) or differs from the dataset's."""
    check_field_types(cfg)
    train_set = next(leaf_datasets(cfg.train_dataloader.dataset))
    classes = dataset_classes(cfg, train_set)
    if not classes:
        return
    wrong = [f'  {path}.num_classes = {node.num_classes}'
             for path, node in walk_dicts(cfg.model)
             if 'num_classes' in node and 'rpn_head' not in path
             and node.num_classes != len(classes)]
    if wrong:
        raise ConfigCheckError(
            f'The dataset has {len(classes)} classes {classes[:5]}'
            f'{"..." if len(classes) > 5 else ""}, but\n' + '\n'.join(wrong) +
            '\nSet these to the dataset\'s class count, or give the dataset '
            'metainfo=dict(classes=(...)) that matches the heads.')
