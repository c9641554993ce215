"""HIRI-ViT image classifiers for timm: ``timm.create_model('hiri_vit_s')``.

The classifier wraps the same :class:`HIRIViT` that detection and
segmentation use, under the attribute ``backbone``; a classification
checkpoint therefore holds ``backbone.*`` keys that dense-prediction configs
load with ``init_cfg=dict(type='Pretrained', prefix='backbone.')`` or after
``tools/convert_checkpoint.py``. No pretrained weights are published.
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import trunc_normal_
from timm.models import (build_model_with_cfg, generate_default_cfgs,
                         register_model)
from timm.models._features import feature_take_indices

from .backbones import HIRIViT

__all__ = ['HIRIViTClassifier']


class HIRIViTClassifier(nn.Module):
    """HIRI-ViT backbone + global average pooling + linear head.

    The backbone returns stage 5 through its own LayerNorm (``norm4``), so
    the head adds none of its own; a classification checkpoint thus also
    trains the stage-5 output norm that detection and segmentation use.

    Args:
        arch (str | dict): HIRIViT arch.
        num_classes (int): Classes; 0 gives pooled features.
        in_chans (int): Input channels.
        drop_rate (float): Dropout before the linear head.
        drop_path_rate (float, optional): Stochastic depth of the backbone;
            the arch's default when None.
        global_pool (str): ``'avg'`` or ``''`` (no pooling, NCHW output).
        **backbone_kwargs: Further :class:`HIRIViT` arguments.

    Shape:
        (B, in_chans, H, W) -> (B, num_classes)
    """

    def __init__(self, arch: Union[str, dict] = 's', num_classes: int = 1000,
                 in_chans: int = 3, drop_rate: float = 0.,
                 drop_path_rate: Optional[float] = None,
                 global_pool: str = 'avg', **backbone_kwargs) -> None:
        super().__init__()
        last = HIRIViT.num_stages - 1
        self.backbone = HIRIViT(arch, in_channels=in_chans,
                                out_indices=(last, ),
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
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = self._linear(num_classes)

    def _linear(self, num_classes: int) -> nn.Module:
        if not num_classes:
            return nn.Identity()
        fc = nn.Linear(self.num_features, num_classes)
        trunc_normal_(fc.weight, std=.02)
        nn.init.zeros_(fc.bias)
        return fc

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict:
        """Parameter groups in depth order, for timm's layer-wise lr decay:
        the stem, then each downsampling layer and block, the norms last."""
        return dict(
            stem=r'^backbone\.stem',
            blocks=r'^backbone\.stages\.(\d+)' if coarse else [
                (r'^backbone\.stages\.(\d+)\.downsample', (0, )),
                (r'^backbone\.stages\.(\d+)\.blocks\.(\d+)', None),
                (r'^backbone\.norm\d', (99999, )),
            ])

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.backbone.set_grad_checkpointing(enable)

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int,
                         global_pool: Optional[str] = None) -> None:
        self.num_classes = num_classes
        if global_pool is not None:
            self.global_pool = global_pool
        self.fc = self._linear(num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> normalised last-stage map
        (B, num_features, ceil(H/64), ceil(W/64))."""
        return self.backbone(x)[-1]

    def forward_head(self, x: torch.Tensor,
                     pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool != 'avg':
            return x
        x = self.head_drop(x.mean((2, 3)))
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
        """timm's feature API (also behind ``features_only=True``): the
        backbone's :meth:`~HIRIViT.forward_intermediates`. ``norm`` applies
        the final norm to the last stage's map; the maps come back in the
        input's memory format."""
        return self.backbone.forward_intermediates(
            x, indices, norm=norm, stop_early=stop_early,
            output_fmt=output_fmt, intermediates_only=intermediates_only)

    def prune_intermediate_layers(self, indices: Union[int, List[int]] = 1,
                                  prune_norm: bool = False,
                                  prune_head: bool = True) -> List[int]:
        """Drop the stages after the last of ``indices`` (and the final norm
        and head when asked, or when the last stage goes)."""
        backbone = self.backbone
        take, last = feature_take_indices(len(backbone.stages), indices)
        final = backbone.out_indices[-1]
        prune_end = last < final
        if prune_norm or prune_end:
            delattr(backbone, f'norm{final}')
            backbone.add_module(f'norm{last}', nn.Identity())
            backbone.out_indices = (last, )
        backbone.stages = backbone.stages[:last + 1]
        if prune_end:
            self.num_features = self.head_hidden_size = \
                self.feature_info[last]['num_chs']
        if prune_head or prune_end:
            self.reset_classifier(0, '')
        return take


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
