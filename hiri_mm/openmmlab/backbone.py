"""HIRIViT for MMDetection and MMSegmentation configs.

The core backbone (:class:`hiri_mm.models.HIRIViT`) is plain PyTorch. This
subclass adds mmengine's ``init_cfg`` (``Pretrained`` loading and the other
initialisers) and is registered once in mmengine's root ``MODELS``, which
mmdet's and mmseg's registries both search, so either toolbox builds it and
neither needs the other installed.
"""
import copy
from typing import Any, List, Optional, Union

from mmengine.model import BaseModule
from mmengine.registry import MODELS

from ..models import HIRIViT as CoreHIRIViT


def _check_init_cfg(init_cfg: Any) -> None:
    """Raise a TypeError, naming the fix, unless ``init_cfg`` is None, a
    dict with a ``type`` key or a list of them (mmengine would fail later,
    in ``init_weights``, with a bare AssertionError)."""
    if init_cfg is None:
        return
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    bad = [cfg for cfg in cfgs
           if not (isinstance(cfg, dict) and 'type' in cfg)]
    if bad:
        checkpoint = bad[0] if isinstance(bad[0], str) else 'x.pth'
        raise TypeError(
            f'init_cfg must be a dict with a "type" key or a list of them, '
            f'got {init_cfg!r}: to load a checkpoint write '
            f"init_cfg=dict(type='Pretrained', checkpoint={checkpoint!r})")


@MODELS.register_module(name='HIRIViT', force=True)
class HIRIViT(CoreHIRIViT, BaseModule):
    """:class:`hiri_mm.models.HIRIViT` with mmengine's ``init_cfg``.

    Args:
        *args, **kwargs: The core backbone's arguments.
        init_cfg (dict | list[dict], optional): mmengine initialisation,
            e.g. ``dict(type='Pretrained', checkpoint='x.pth',
            prefix='backbone.')``. Without it the backbone keeps the core's
            initialisation rule.
    """

    def __init__(self, *args,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 **kwargs) -> None:
        _check_init_cfg(init_cfg)
        super().__init__(*args, **kwargs)
        self.init_cfg = copy.deepcopy(init_cfg)

    def init_weights(self) -> None:
        """The core's rule for every layer, then ``init_cfg`` (checkpoint
        keys load non-strictly: output norms absent from a classification
        checkpoint keep their initial values and are reported)."""
        self._reset_parameters()
        BaseModule.init_weights(self)
