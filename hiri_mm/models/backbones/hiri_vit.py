"""HIRI-ViT: a five-stage CNN+ViT backbone for high-resolution inputs.

Paper: "HIRI-ViT: Scaling Vision Transformer with High Resolution Inputs",
Ting Yao, Yehao Li, Yingwei Pan, Tao Mei (arXiv:2403.11999).

An HR-stem brings the image to stride 4; five stages follow at strides
4, 8, 16, 32 and 64:

    stage 1-2   HR-blocks (BatchNorm): a cheap depthwise branch at full
                resolution plus a heavier feed-forward branch at half
                resolution, upsampled by repetition and summed.
    stage 3     CFFN blocks (BatchNorm): convolutional feed-forward only.
    stage 4-5   Transformer blocks (LayerNorm): multi-head self-attention
                and a convolutional feed-forward network.

IRDS-a downsamples into stages 2 and 3, IRDS-b into stages 4 and 5. With a
448x448 input the last four stages see the grids a four-stage ViT sees at
224x224, which is how the model doubles the input at about the same cost.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmcv.cnn.utils import fuse_conv_bn
from mmengine.model import BaseModule, ModuleList, Sequential
from timm.layers import DropPath
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['HRStem', 'HRBlock', 'CFFNBlock', 'TransformerBlock', 'IRDSa',
           'IRDSb', 'HIRIViT']

ConfigType = Dict


def _bn_scale_shift(bn: _BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(scale, shift)`` such that ``bn(x) == scale * x + shift``
    in eval mode."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


class HRStem(BaseModule):
    """High-resolution stem: image -> stride-4 feature map.

    A stride-2 3x3 conv, then two parallel stride-2 branches on its output:
    a light high-resolution branch (depthwise 3x3, then a strided 3x3 conv)
    and a heavier low-resolution branch (strided 3x3 conv, then 3x3 and 1x1
    convs). The branches are summed and batch-normalised.

    Args:
        in_channels (int): Image channels.
        out_channels (int): Output channels (the width of stage 1).
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H/4), ceil(W/4))
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: ConfigType, act_cfg: ConfigType) -> None:
        super().__init__()
        mid = out_channels // 2
        self.conv = ConvModule(in_channels, mid, 3, stride=2, padding=1,
                               norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.high_res = nn.Sequential(
            nn.Conv2d(mid, mid, 3, padding=1, groups=mid, bias=False),
            nn.Conv2d(mid, out_channels, 3, stride=2, padding=1))
        self.low_res = nn.Sequential(
            ConvModule(mid, out_channels, 3, stride=2, padding=1,
                       norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(out_channels, out_channels, 3, padding=1,
                       norm_cfg=norm_cfg, act_cfg=act_cfg),
            nn.Conv2d(out_channels, out_channels, 1))
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.norm(self.high_res(x) + self.low_res(x))

    @torch.no_grad()
    def fuse_sum_norm(self) -> None:
        """Fold the norm after the branch sum into both branches' last convs.

        ``bn(a + b) = scale * a + (scale * b + shift)``: the scale goes into
        both convs, the shift into one bias.
        """
        if isinstance(self.norm, nn.Identity):
            return
        scale, shift = _bn_scale_shift(self.norm)
        for conv in (self.high_res[-1], self.low_res[-1]):
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias.mul_(scale)
        self.high_res[-1].bias.add_(shift)
        self.norm = nn.Identity()


class HRBlock(BaseModule):
    """High-resolution block of stages 1 and 2.

    ``x + DropPath(high(x) + crop(up2(low(x))))`` where ``high`` is a
    depthwise 3x3 conv at full resolution and ``low`` is a stride-2
    depthwise 3x3 conv followed by a 1x1 -> act -> 1x1 feed-forward with
    ``mlp_ratio`` expansion; ``up2`` repeats each pixel 2x2 and ``crop``
    trims the extra row/column of odd-sized maps.

    Args:
        dim (int): Channels.
        mlp_ratio (float): Expansion of the low-resolution feed-forward.
        drop_path (float): Stochastic depth rate.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.

    Shape:
        (B, dim, H, W) -> (B, dim, H, W)
    """

    def __init__(self, dim: int, mlp_ratio: float, drop_path: float,
                 norm_cfg: ConfigType, act_cfg: ConfigType) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.high_res = ConvModule(dim, dim, 3, padding=1, groups=dim,
                                   norm_cfg=norm_cfg, act_cfg=None)
        self.low_res = nn.Sequential(
            ConvModule(dim, dim, 3, stride=2, padding=1, groups=dim,
                       norm_cfg=norm_cfg, act_cfg=None),
            ConvModule(dim, hidden, 1, norm_cfg=None, act_cfg=act_cfg),
            ConvModule(hidden, dim, 1, norm_cfg=norm_cfg, act_cfg=None))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        low = F.interpolate(self.low_res(x), scale_factor=2., mode='nearest')
        return x + self.drop_path(self.high_res(x) + low[..., :h, :w])


class CFFNBlock(BaseModule):
    """Convolutional feed-forward block of stage 3 (no attention).

    ``x + DropPath(1x1(act(dw3x3(1x1(x)))))``, each conv followed by a norm.

    Args:
        dim (int): Channels.
        mlp_ratio (float): Hidden expansion.
        drop_path (float): Stochastic depth rate.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.

    Shape:
        (B, dim, H, W) -> (B, dim, H, W)
    """

    def __init__(self, dim: int, mlp_ratio: float, drop_path: float,
                 norm_cfg: ConfigType, act_cfg: ConfigType) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.ffn = nn.Sequential(
            ConvModule(dim, hidden, 1, norm_cfg=norm_cfg, act_cfg=None),
            ConvModule(hidden, hidden, 3, padding=1, groups=hidden,
                       norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(hidden, dim, 1, norm_cfg=norm_cfg, act_cfg=None))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.ffn(x))


class Attention(BaseModule):
    """Multi-head self-attention with optional key/value spatial reduction.

    Args:
        dim (int): Token channels.
        num_heads (int): Attention heads; must divide ``dim``.
        sr_ratio (int): Keys and values are computed on a map downsampled by
            a ``sr_ratio`` x ``sr_ratio`` strided conv; 1 disables it.

    Shape:
        (B, H*W, dim) -> (B, H*W, dim)
    """

    def __init__(self, dim: int, num_heads: int, sr_ratio: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by num_heads '
                             f'{num_heads}: pick heads that divide the width')
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, stride=sr_ratio)
            self.sr_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        heads = self.num_heads
        q = self.q(x).reshape(b, n, heads, c // heads).transpose(1, 2)
        if self.sr_ratio > 1:
            kv_in = x.transpose(1, 2).reshape(b, c, *hw)
            kv_in = self.sr_norm(self.sr(kv_in).flatten(2).transpose(1, 2))
        else:
            kv_in = x
        k, v = self.kv(kv_in).reshape(b, -1, 2, heads, c // heads).permute(
            2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class ConvFFN(BaseModule):
    """Token feed-forward with a depthwise 3x3 conv between its two linears.

    Shape:
        (B, H*W, dim) -> (B, H*W, dim)
    """

    def __init__(self, dim: int, mlp_ratio: float, act_cfg: ConfigType) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        x = self.fc1(x)
        b, n, c = x.shape
        x = self.dwconv(x.transpose(1, 2).reshape(b, c, *hw))
        return self.fc2(self.act(x.flatten(2).transpose(1, 2)))


class TransformerBlock(BaseModule):
    """Pre-norm Transformer block of stages 4 and 5: attention + ConvFFN.

    Works on NCHW maps so that every stage has the same interface.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): ConvFFN expansion.
        sr_ratio (int): Key/value spatial reduction.
        drop_path (float): Stochastic depth rate.
        act_cfg (dict): Activation config.

    Shape:
        (B, dim, H, W) -> (B, dim, H, W)
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float,
                 sr_ratio: int, drop_path: float, act_cfg: ConfigType) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, sr_ratio)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = ConvFFN(dim, mlp_ratio, act_cfg)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = x + self.drop_path(self.attn(self.norm1(x), (h, w)))
        x = x + self.drop_path(self.ffn(self.norm2(x), (h, w)))
        return x.transpose(1, 2).reshape(b, c, h, w)


class _DownsampleShortcut(Sequential):
    """2x2 average pool (ceil mode, so odd sizes round up) + 1x1 conv.

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H/2), ceil(W/2))
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: Optional[ConfigType]) -> None:
        super().__init__(
            nn.AvgPool2d(2, ceil_mode=True),
            ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg,
                       act_cfg=None))


class IRDSa(BaseModule):
    """Inverted residual downsampling, variant a (after stages 1 and 2).

    Main branch: strided 3x3 conv that expands to ``expand_ratio * out``
    channels, then a 1x1 conv that shrinks them to ``out``; plus a
    downsampling shortcut.

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H/2), ceil(W/2))
    """

    def __init__(self, in_channels: int, out_channels: int,
                 expand_ratio: float, norm_cfg: ConfigType,
                 act_cfg: ConfigType) -> None:
        super().__init__()
        hidden = int(out_channels * expand_ratio)
        self.conv = nn.Sequential(
            ConvModule(in_channels, hidden, 3, stride=2, padding=1,
                       norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(hidden, out_channels, 1, norm_cfg=norm_cfg,
                       act_cfg=None))
        self.shortcut = _DownsampleShortcut(in_channels, out_channels,
                                            norm_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.shortcut(x)


class IRDSb(BaseModule):
    """Inverted residual downsampling, variant b (after stages 3 and 4).

    1x1 expand (norm + act), depthwise strided 3x3, 1x1 project; norm and
    activation follow only the first conv. Plus a downsampling shortcut.

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H/2), ceil(W/2))
    """

    def __init__(self, in_channels: int, out_channels: int,
                 expand_ratio: float, norm_cfg: ConfigType,
                 act_cfg: ConfigType) -> None:
        super().__init__()
        hidden = int(in_channels * expand_ratio)
        self.conv = nn.Sequential(
            ConvModule(in_channels, hidden, 1, norm_cfg=norm_cfg,
                       act_cfg=act_cfg),
            nn.Conv2d(hidden, hidden, 3, stride=2, padding=1, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1))
        self.shortcut = _DownsampleShortcut(in_channels, out_channels, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.shortcut(x)


class HIRIStage(BaseModule):
    """One stage: an optional downsampling layer, then ``depth`` blocks.

    Transformer stages end with a LayerNorm over channels.

    Shape:
        (B, C_in, H, W) -> (B, C_out, ceil(H/s), ceil(W/s)), s = 2 when the
        stage downsamples, else 1.
    """

    def __init__(self, downsample: Optional[nn.Module], blocks: List[nn.Module],
                 out_norm: Optional[nn.Module], with_cp: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.blocks = ModuleList(blocks)
        self.norm = out_norm
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        for block in self.blocks:
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        if self.norm is not None:
            x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x


class HIRIViT(BaseModule):
    """HIRI-ViT backbone for MMDetection and MMSegmentation.

    Args:
        arch (str | dict): ``'s'``, ``'b'``, ``'l'`` (or ``'small'``,
            ``'base'``, ``'large'``), or a dict with the keys of
            :attr:`arch_zoo` entries: ``channels``, ``depths``,
            ``mlp_ratios``, ``num_heads`` (5 values each) and
            ``downsample_ratios`` (4 values). Defaults to ``'s'``.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages (0-4) whose maps are returned.
            Defaults to ``(1, 2, 3, 4)``: strides 8, 16, 32, 64. Stages after
            the last index are built (full checkpoints still load) but not
            run, so their parameters get no gradient.
        sr_ratios (Sequence[int]): Key/value spatial reduction of the
            Transformer stages 4 and 5. Defaults to ``(1, 1)``.
        drop_path_rate (float): Stochastic depth, linearly increasing over
            all blocks. Defaults to 0.
        frozen_stages (int): Freeze the stem and stages ``0..frozen_stages``
            (parameters and norm statistics); -1 freezes nothing.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training.
        with_cp (bool): Gradient checkpointing of every block.
        norm_cfg (dict): Norm of the convolutional parts (stem, stages 1-3,
            downsampling). Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation. Defaults to ``dict(type='GELU')``.
        init_cfg (dict | list[dict], optional): Initialisation; use
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``
            to load a backbone out of a detector/segmentor checkpoint.

    Attributes:
        channels (tuple[int]): Width of each of the five stages.
        strides (tuple[int]): Total stride of each stage: (4, 8, 16, 32, 64).
        out_channels / out_strides (tuple[int]): The same for ``out_indices``.

    Shape:
        (B, in_channels, H, W) -> tuple of (B, channels[i], ceil(H/strides[i]),
        ceil(W/strides[i])) for i in ``out_indices``.
    """

    arch_zoo = {
        **dict.fromkeys(['s', 'small'], {
            'channels': (32, 64, 128, 320, 448),
            'depths': (3, 3, 6, 10, 3),
            'mlp_ratios': (4, 8, 4, 4, 4),
            'num_heads': (1, 1, 1, 5, 7),
            'downsample_ratios': (4, 4, 4, 4)}),
        **dict.fromkeys(['b', 'base'], {
            'channels': (48, 96, 192, 384, 512),
            'depths': (2, 3, 6, 14, 3),
            'mlp_ratios': (4, 8, 4, 4, 4),
            'num_heads': (1, 1, 1, 6, 8),
            'downsample_ratios': (4, 4, 4, 4)}),
        **dict.fromkeys(['l', 'large'], {
            'channels': (64, 96, 224, 448, 640),
            'depths': (2, 3, 8, 16, 3),
            'mlp_ratios': (4, 8, 4, 4, 4),
            'num_heads': (1, 1, 1, 7, 10),
            'downsample_ratios': (4, 4, 4, 4)}),
    }
    num_stages = 5
    strides = (4, 8, 16, 32, 64)

    def __init__(self,
                 arch: Union[str, dict] = 's',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (1, 2, 3, 4),
                 sr_ratios: Sequence[int] = (1, 1),
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 act_cfg: ConfigType = dict(type='GELU'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02,
                     bias=0.),
                dict(type='Constant', layer=['LayerNorm', '_BatchNorm'],
                     val=1., bias=0.)
            ]
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._parse_arch(arch)
        self.out_indices = self._parse_out_indices(out_indices)
        if not -1 <= frozen_stages < self.num_stages:
            raise ValueError(f'frozen_stages must be in [-1, '
                             f'{self.num_stages - 1}], got {frozen_stages}')
        if len(sr_ratios) != 2:
            raise ValueError('sr_ratios needs one value per Transformer '
                             f'stage (stages 4 and 5), got {sr_ratios}')
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.channels = tuple(self.arch_settings['channels'])
        self.out_channels = tuple(self.channels[i] for i in self.out_indices)
        self.out_strides = tuple(self.strides[i] for i in self.out_indices)

        channels = self.channels
        depths = self.arch_settings['depths']
        ratios = self.arch_settings['mlp_ratios']
        heads = self.arch_settings['num_heads']
        down = self.arch_settings['downsample_ratios']
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        conv_kw = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.stem = HRStem(in_channels, channels[0], **conv_kw)
        self.stages = ModuleList()
        for i, depth in enumerate(depths):
            rates = dpr[sum(depths[:i]):sum(depths[:i + 1])]
            if i == 0:
                downsample = None
            elif i < 3:
                downsample = IRDSa(channels[i - 1], channels[i], down[i - 1],
                                   **conv_kw)
            else:
                downsample = IRDSb(channels[i - 1], channels[i], down[i - 1],
                                   **conv_kw)
            if i < 2:
                blocks = [HRBlock(channels[i], ratios[i], r, **conv_kw)
                          for r in rates]
            elif i == 2:
                blocks = [CFFNBlock(channels[i], ratios[i], r, **conv_kw)
                          for r in rates]
            else:
                blocks = [
                    TransformerBlock(channels[i], heads[i], ratios[i],
                                     sr_ratios[i - 3], r, act_cfg)
                    for r in rates
                ]
            out_norm = nn.LayerNorm(channels[i]) if i >= 3 else None
            self.stages.append(HIRIStage(downsample, blocks, out_norm,
                                         with_cp))

    def _parse_arch(self, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in self.arch_zoo:
                raise KeyError(f'Unknown HIRIViT arch {arch!r}; choose one of '
                               f'{sorted(set(self.arch_zoo))} or pass a dict')
            return dict(self.arch_zoo[key])
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or dict, got {type(arch)}')
        required = {'channels', 'depths', 'mlp_ratios', 'num_heads',
                    'downsample_ratios'}
        if set(arch) != required:
            raise KeyError(f'A custom arch needs exactly the keys '
                           f'{sorted(required)}, got {sorted(arch)}')
        for key in required - {'downsample_ratios'}:
            if len(arch[key]) != self.num_stages:
                raise ValueError(f'arch[{key!r}] needs {self.num_stages} '
                                 f'values (one per stage), got {arch[key]}')
        if len(arch['downsample_ratios']) != self.num_stages - 1:
            raise ValueError('arch["downsample_ratios"] needs '
                             f'{self.num_stages - 1} values (one per IRDS)')
        return dict(arch)

    def _parse_out_indices(self, out_indices: Sequence[int]) -> Tuple[int]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        indices = []
        for i in out_indices:
            j = i + self.num_stages if i < 0 else i
            if not 0 <= j < self.num_stages:
                raise ValueError(f'out_indices {tuple(out_indices)} out of '
                                 f'range: HIRIViT has stages 0..'
                                 f'{self.num_stages - 1}')
            indices.append(j)
        return tuple(sorted(set(indices)))

    def train(self, mode: bool = True) -> 'HIRIViT':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.stem, *self.stages[:self.frozen_stages + 1]]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'HIRIViT expects (B, {self.in_channels}, H, W) input, got '
                f'{tuple(x.shape)}: convert the images to {self.in_channels} '
                'channels or set the backbone\'s in_channels')
        if not torch.isfinite(x).all():
            raise ValueError(
                'HIRIViT input contains NaN or Inf: check the images and the '
                'data preprocessor (mean/std) before training on them')
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages[:self.out_indices[-1] + 1]):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    @torch.no_grad()
    def switch_to_deploy(self) -> 'HIRIViT':
        """Fold every BatchNorm into the conv before it, for inference.

        Irreversible; call it on a model in eval mode.
        """
        self.stem.fuse_sum_norm()
        fuse_conv_bn(self)
        return self
