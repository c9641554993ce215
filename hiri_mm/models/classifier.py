"""HIRI-ViT image classifiers for timm: ``timm.create_model('hiri_vit_s')``.

The classifier wraps the same :class:`HIRIViT` that detection and
segmentation use, under the attribute ``backbone``; a classification
checkpoint therefore holds ``backbone.*`` keys that dense-prediction configs
load with ``init_cfg=dict(type='Pretrained', prefix='backbone.')`` or after
``tools/convert_checkpoint.py``. No pretrained weights are published.
"""
import logging
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import (build_model_with_cfg, generate_default_cfgs,
                         register_model)
from timm.models._features import feature_take_indices

from .backbones import HIRIViT

__all__ = ['HIRIViTClassifier']


class HIRIViTClassifier(nn.Module):
    """HIRI-ViT backbone + global average pooling + LayerNorm + linear head.

    Args:
        arch (str | dict): HIRIViT arch.
        num_classes (int): Classes; 0 gives pooled features.
        in_chans (int): Input channels.
        drop_rate (float): Dropout before the linear head.
        drop_path_rate (float): Stochastic depth of the backbone.
        global_pool (str): ``'avg'`` or ``''`` (no pooling, NCHW output).

    Shape:
        (B, in_chans, H, W) -> (B, num_classes)
    """

    def __init__(self, arch: Union[str, dict] = 's', num_classes: int = 1000,
                 in_chans: int = 3, drop_rate: float = 0.,
                 drop_path_rate: float = 0., global_pool: str = 'avg',
                 **backbone_kwargs) -> None:
        super().__init__()
        self.backbone = HIRIViT(arch, in_channels=in_chans,
                                out_indices=(HIRIViT.num_stages - 1, ),
                                drop_path_rate=drop_path_rate,
                                **backbone_kwargs)
        self.num_classes = num_classes
        self.num_features = self.head_hidden_size = self.backbone.channels[-1]
        self.global_pool = global_pool
        self.feature_info = [
            dict(num_chs=c, reduction=s, module=f'backbone.stages.{i}')
            for i, (c, s) in enumerate(
                zip(self.backbone.channels, self.backbone.strides))
        ]
        self.norm = nn.LayerNorm(self.num_features)
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(self.num_features, num_classes) \
            if num_classes else nn.Identity()
        self._init_backbone()
        if num_classes:
            nn.init.trunc_normal_(self.fc.weight, std=.02)
            nn.init.zeros_(self.fc.bias)

    def _init_backbone(self) -> None:
        """The backbone's own init_cfg, without mmengine's per-parameter
        INFO report (timm builds models outside any Runner)."""
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            self.backbone.init_weights()
        finally:
            logger.setLevel(level)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int,
                         global_pool: Optional[str] = None) -> None:
        self.num_classes = num_classes
        if global_pool is not None:
            self.global_pool = global_pool
        self.fc = nn.Linear(self.num_features, num_classes) \
            if num_classes else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> last stage map (B, C5, ceil(H/64), ceil(W/64))."""
        return self.backbone(x)[-1]

    def forward_head(self, x: torch.Tensor,
                     pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool != 'avg':
            return x
        x = self.head_drop(self.norm(x.mean((2, 3))))
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: Optional[Union[int, List[int]]] = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = 'NCHW',
        intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """timm's feature API: the NCHW maps of the stages in ``indices``
        (the last ``n`` stages for an int, all for None)."""
        if output_fmt != 'NCHW':
            raise ValueError(f'HIRI-ViT features are NCHW, got {output_fmt}')
        stages = self.backbone.stages
        take, last = feature_take_indices(len(stages), indices)
        x = self.backbone.stem(x)
        intermediates = []
        for i, stage in enumerate(stages[:last + 1] if stop_early else stages):
            x = stage(x)
            if i in take:
                intermediates.append(x)
        if intermediates_only:
            return intermediates
        return x, intermediates


def _cfg(**kwargs) -> dict:
    return dict(
        num_classes=1000, input_size=(3, 448, 448), pool_size=(7, 7),
        crop_pct=0.875, interpolation='bicubic', mean=IMAGENET_DEFAULT_MEAN,
        std=IMAGENET_DEFAULT_STD, first_conv='backbone.stem.conv.conv',
        classifier='fc', license='apache-2.0',
        paper_ids='arXiv:2403.11999', **kwargs)


default_cfgs = generate_default_cfgs(
    {f'hiri_vit_{size}.untrained': _cfg() for size in 'sbl'})


def _create(variant: str, size: str, pretrained: bool, **kwargs):
    # An `arch` in kwargs (e.g. a custom dict) overrides the size.
    kwargs.setdefault('arch', size)
    return build_model_with_cfg(
        HIRIViTClassifier, variant, pretrained,
        feature_cfg=dict(feature_cls='getter'), **kwargs)


@register_model
def hiri_vit_s(pretrained: bool = False, **kwargs) -> HIRIViTClassifier:
    return _create('hiri_vit_s', 's', pretrained, **kwargs)


@register_model
def hiri_vit_b(pretrained: bool = False, **kwargs) -> HIRIViTClassifier:
    return _create('hiri_vit_b', 'b', pretrained, **kwargs)


@register_model
def hiri_vit_l(pretrained: bool = False, **kwargs) -> HIRIViTClassifier:
    return _create('hiri_vit_l', 'l', pretrained, **kwargs)
