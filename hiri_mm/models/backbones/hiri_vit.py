"""HIRI-ViT: a five-stage CNN+ViT backbone for high-resolution inputs.

Paper: "HIRI-ViT: Scaling Vision Transformer with High Resolution Inputs",
Ting Yao, Yehao Li, Yingwei Pan, Tao Mei (arXiv:2403.11999).

An HR-stem brings the image to stride 4; five stages follow at strides
4, 8, 16, 32 and 64:

    stage 1-2   HR-blocks (BatchNorm): a cheap depthwise branch at full
                resolution plus a heavier feed-forward branch at half
                resolution, upsampled by repetition and summed.
    stage 3     CFFN blocks (BatchNorm): convolutional feed-forward only.
    stage 4-5   Transformer blocks: LayerNorm + multi-head self-attention,
                BatchNorm + convolutional feed-forward (CFFN).

IRDS-a downsamples into stages 2 and 3, IRDS-b into stages 4 and 5. With a
448x448 input the last four stages see the grids a four-stage ViT sees at
224x224, which is how the model doubles the input at about the same cost.

What is the paper's and what is ours (see also "Fidelity" in the README):
the block structure, the norms (BatchNorm in stages 1-3 and in every CFFN,
LayerNorm before attention), the even HR-block depths and the enlarged
stage-3 expansion follow the text. Table I (widths, depths, ratios) is not
available: :attr:`HIRIViT.arch_zoo` is calibrated to the paper's GFLOPs.
The stem's middle width, the shortcut design of IRDS (2x2 average pool +
1x1 conv), the per-output norms and the initialisation are our choices,
and so is the optional windowed attention of the Transformer stages
(``window_sizes``, off by default) for detection-size inputs.

This module needs only torch and timm. The OpenMMLab adapter
(``hiri_mm.openmmlab``) registers a subclass that adds ``init_cfg``.
"""
import math
from collections import OrderedDict
from typing import (Any, Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple, Union)

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from timm.layers import DropPath, LayerNorm2d, get_act_layer, trunc_normal_
from timm.layers.activations import GELU as TimmGELU
from timm.models._features import feature_take_indices
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ['Rule', 'check_arguments', 'window_partition', 'window_reverse',
           'window_padding_mask', 'DenseAct', 'ConvNormAct', 'HRStem',
           'HRBlock', 'CFFNBlock', 'Attention', 'Pointwise', 'ConvFFN',
           'TransformerBlock', 'IRDSa', 'IRDSb', 'HIRIStage', 'HIRIViT']


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sequence_of(is_item: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A predicate: a list or tuple (not a string) whose items pass
    ``is_item``."""
    return lambda value: isinstance(value, Sequence) and \
        not isinstance(value, (str, bytes)) and all(map(is_item, value))


class Rule(NamedTuple):
    """What one argument must be.

    A value failing ``is_type`` raises a TypeError, one of the right type
    failing ``in_range`` a ValueError; both read ``<name> must be <what>,
    got <value>``.
    """
    what: str
    is_type: Callable[[Any], bool]
    in_range: Callable[[Any], bool] = lambda value: True


def check_arguments(rules: Dict[str, Rule], values: Dict[str, Any],
                    prefix: str = '') -> None:
    """Check each of ``values`` that has a rule in ``rules``.

    Args:
        rules (dict): Argument name -> :class:`Rule`.
        values (dict): Argument name -> value; names without a rule are
            left to their consumer.
        prefix (str): Shown before each name, e.g. ``'norm_cfg'`` for the
            keys of a config dict (``norm_cfg['eps']``).

    Raises:
        TypeError | ValueError: The first value breaking its rule.
    """
    for name, value in values.items():
        rule = rules.get(name)
        if rule is None:
            continue
        label = f'{prefix}[{name!r}]' if prefix else name
        if not rule.is_type(value):
            raise TypeError(f'{label} must be {rule.what}, got {value!r}')
        if not rule.in_range(value):
            raise ValueError(f'{label} must be {rule.what}, got {value!r}')


_BOOL = Rule('True or False', lambda value: isinstance(value, bool))

NORM_LAYERS = {'BN': nn.BatchNorm2d, 'BN2d': nn.BatchNorm2d,
               'SyncBN': nn.SyncBatchNorm}

NORM_CFG_RULES = {
    'type': Rule(f'one of {sorted(NORM_LAYERS)}',
                 lambda value: isinstance(value, str),
                 lambda value: value in NORM_LAYERS),
    'eps': Rule('a positive number', _is_number, lambda value: value > 0),
    'momentum': Rule('a number in [0, 1], or None for a cumulative average',
                     lambda value: value is None or _is_number(value),
                     lambda value: value is None or 0 <= value <= 1),
    'requires_grad': _BOOL,
    'affine': _BOOL,
    'track_running_stats': _BOOL,
}


def _is_timm_act(name: str) -> bool:
    try:
        get_act_layer(name.lower())
    except KeyError:
        return False
    return True


ACT_CFG_RULES = {
    'type': Rule("a timm activation name, e.g. 'GELU', 'ReLU' or 'SiLU'",
                 lambda value: isinstance(value, str), _is_timm_act),
}


def build_norm(cfg: Dict, channels: int) -> nn.Module:
    """A BatchNorm from an mmcv-style ``norm_cfg``, e.g.
    ``dict(type='SyncBN', requires_grad=True, eps=1e-5)``; the values are
    checked against :data:`NORM_CFG_RULES` first."""
    check_arguments(NORM_CFG_RULES, cfg, prefix='norm_cfg')
    cfg = dict(cfg)
    kind = cfg.pop('type')
    requires_grad = cfg.pop('requires_grad', True)
    norm = NORM_LAYERS[kind](channels, **cfg)
    norm.requires_grad_(requires_grad)
    return norm


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` is a (B, C, H, W) map laid out channels-last (and not
    also contiguous NCHW, as maps of one channel or one pixel are)."""
    return x.dim() == 4 and not x.is_contiguous() and \
        x.is_contiguous(memory_format=torch.channels_last)


class DenseAct(nn.Module):
    """An elementwise activation applied to a map's memory as one dense
    block, in place where nothing needs its input.

    PyTorch's CPU kernels run GELU on a channels-last map several times
    slower than on the same memory seen as a contiguous NHWC tensor; the
    result is identical, so channels-last maps go through that view.

    Without autograd, an exact GELU overwrites its input: every activation
    of the backbone follows a convolution whose output nothing else reads,
    and at detection scale the fresh output maps are costly (HIRI-ViT-S
    win14 at 1600x2666 allocates 0.9 GB less per forward, about 6% less CPU
    time, mostly page faults). With autograd it keeps its input, which the
    backward pass needs.

    Shape:
        (B, C, H, W) -> (B, C, H, W), same memory format
    """

    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.act = act
        self.exact_gelu = isinstance(act, (nn.GELU, TimmGELU)) and \
            getattr(act, 'approximate', 'none') == 'none'

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_last = is_channels_last(x)
        dense = x.permute(0, 2, 3, 1) if channels_last else x
        if self.exact_gelu and not torch.is_grad_enabled():
            dense = torch.ops.aten.gelu_(dense)
        else:
            dense = self.act(dense)
        return dense.permute(0, 3, 1, 2) if channels_last else dense


def build_act(cfg: Dict) -> nn.Module:
    """An activation from an mmcv-style ``act_cfg``, e.g.
    ``dict(type='GELU')``, through timm's activation table."""
    check_arguments(ACT_CFG_RULES, cfg, prefix='act_cfg')
    cfg = dict(cfg)
    return DenseAct(get_act_layer(cfg.pop('type').lower())(**cfg))


def bn_scale_shift(bn: _BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(scale, shift)`` with ``bn(x) == scale * x + shift`` in
    eval mode (``affine=False`` norms have weight 1 and bias 0)."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    shift = -bn.running_mean * scale
    if bn.affine:
        scale = scale * bn.weight
        shift = shift * bn.weight + bn.bias
    return scale, shift


def uses_running_stats(bn: nn.Module) -> bool:
    """Whether ``bn`` is a BatchNorm that normalises with its running
    statistics, i.e. an affine map that folds into the conv before it."""
    return isinstance(bn, _BatchNorm) and not bn.training and \
        bn.running_var is not None


def add_upsampled(high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    """``high + up2(low)``: ``low`` repeated 2x2 (nearest upsampling) and
    cropped to ``high``'s size.

    Even sizes broadcast ``low`` over 2x2 blocks of ``high`` in one
    elementwise pass that keeps the input dtype (``F.interpolate`` runs in
    fp32 under autocast and writes the upsampled map first).

    Shape:
        high (B, C, H, W), low (B, C, ceil(H/2), ceil(W/2)) -> (B, C, H, W)
    """
    b, c, h, w = high.shape
    if h % 2 == 0 and w % 2 == 0:
        out = high.view(b, c, h // 2, 2, w // 2, 2) + low[:, :, :, None, :,
                                                          None]
        return out.view(b, c, h, w)
    lh, lw = low.shape[-2:]
    up = low[:, :, :, None, :, None].expand(b, c, lh, 2, lw, 2)
    return high + up.reshape(b, c, 2 * lh, 2 * lw)[..., :h, :w]


def nchw_to_nlc(x: torch.Tensor) -> torch.Tensor:
    """A map as tokens: (B, C, H, W) -> (B, H*W, C)."""
    return x.flatten(2).transpose(1, 2)


def nlc_to_nchw(tokens: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
    """Tokens as a map: (B, H*W, C) -> (B, C, H, W)."""
    b, _, c = tokens.shape
    return tokens.transpose(1, 2).reshape(b, c, *hw)


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Split a token map into non-overlapping square windows.

    The map is zero-padded on the bottom/right to a multiple of
    ``window_size`` first; :func:`window_padding_mask` says which window
    tokens are padding.

    Args:
        x (Tensor): Token map (B, H, W, C).
        window_size (int): Window side ``s`` in tokens.

    Returns:
        Tensor: Windows (B * ceil(H/s) * ceil(W/s), s*s, C), batch-major,
        then windows in row-major order.
    """
    b, h, w, c = x.shape
    s = window_size
    if h % s or w % s:
        x = F.pad(x, (0, 0, 0, -w % s, 0, -h % s))
    rows, cols = x.shape[1] // s, x.shape[2] // s
    return x.view(b, rows, s, cols, s, c).transpose(2, 3).reshape(
        b * rows * cols, s * s, c)


def window_reverse(windows: torch.Tensor, window_size: int,
                   hw: Tuple[int, int]) -> torch.Tensor:
    """Reassemble :func:`window_partition`'s windows into the map and crop
    the padding.

    Args:
        windows (Tensor): (B * ceil(H/s) * ceil(W/s), s*s, C).
        window_size (int): Window side ``s`` in tokens.
        hw (tuple[int, int]): The map's size (H, W) before padding.

    Returns:
        Tensor: Contiguous token map (B, H, W, C).
    """
    h, w = hw
    s = window_size
    rows, cols = (h + s - 1) // s, (w + s - 1) // s
    c = windows.shape[-1]
    x = windows.view(-1, rows, cols, s, s, c).transpose(2, 3).reshape(
        -1, rows * s, cols * s, c)
    if rows * s != h or cols * s != w:
        x = x[:, :h, :w].contiguous()
    return x


def window_padding_mask(hw: Tuple[int, int], window_size: int,
                        device: torch.device) -> Optional[torch.Tensor]:
    """Which tokens of :func:`window_partition`'s windows come from the map.

    Built from the shapes alone (no host sync); None when the map splits
    into whole windows. Every window holds at least one real token (the
    padding is narrower than a window), so no query loses all its keys.

    Args:
        hw (tuple[int, int]): The map's size (H, W).
        window_size (int): Window side ``s`` in tokens.
        device (torch.device): Device of the mask.

    Returns:
        Tensor | None: Bool (ceil(H/s) * ceil(W/s), s*s), True at real
        tokens.
    """
    h, w = hw
    if h % window_size == 0 and w % window_size == 0:
        return None
    real = torch.ones(1, h, w, 1, dtype=torch.bool, device=device)
    return window_partition(real, window_size).squeeze(-1)


class ConvNormAct(nn.Sequential):
    """Conv -> optional BatchNorm -> optional activation.

    The children are named ``conv``, ``bn`` and ``act``, as in mmcv's
    ConvModule, so checkpoint keys read ``conv.weight``, ``bn.running_mean``.
    The conv has a bias only when no norm follows it.

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H/s), ceil(W/s))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, groups: int = 1,
                 norm_cfg: Optional[Dict] = None,
                 act_cfg: Optional[Dict] = None) -> None:
        layers = OrderedDict(conv=nn.Conv2d(
            in_channels, out_channels, kernel_size, stride,
            kernel_size // 2, groups=groups, bias=norm_cfg is None))
        if norm_cfg is not None:
            layers['bn'] = build_norm(norm_cfg, out_channels)
        if act_cfg is not None:
            layers['act'] = build_act(act_cfg)
        super().__init__(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, bn = self.conv, self._modules.get('bn')
        weight, bias = conv.weight, conv.bias
        if uses_running_stats(bn):
            # BatchNorm on running statistics (eval mode, or norm_eval while
            # training) is an affine map: one conv with folded weights
            # computes conv -> BN without a second pass over the map (the
            # same function to float rounding; gradients reach the conv and
            # the BN affine).
            scale, shift = bn_scale_shift(bn)
            weight = weight * scale.view(-1, 1, 1, 1)
            bias = shift if bias is None else bias * scale + shift
            bn = None
        x = conv._conv_forward(x, weight, bias)
        if bn is not None:
            x = bn(x)
        act = self._modules.get('act')
        return x if act is None else act(x)

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold the BatchNorm into the conv for good (eval mode only)."""
        if isinstance(self._modules.get('bn'), _BatchNorm):
            self.conv = fuse_conv_bn_eval(self.conv, self.bn)
            self.bn = nn.Identity()


class HRStem(nn.Module):
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

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: Dict,
                 act_cfg: Dict) -> None:
        super().__init__()
        mid = out_channels // 2
        self.conv = ConvNormAct(in_channels, mid, 3, 2, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        self.high_res = nn.Sequential(
            nn.Conv2d(mid, mid, 3, padding=1, groups=mid, bias=False),
            nn.Conv2d(mid, out_channels, 3, stride=2, padding=1))
        self.low_res = nn.Sequential(
            ConvNormAct(mid, out_channels, 3, 2, norm_cfg=norm_cfg,
                        act_cfg=act_cfg),
            ConvNormAct(out_channels, out_channels, 3, norm_cfg=norm_cfg,
                        act_cfg=act_cfg),
            nn.Conv2d(out_channels, out_channels, 1))
        self.norm = build_norm(norm_cfg, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.norm(self.high_res(x) + self.low_res(x))

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold every norm into a conv. The norm after the branch sum,
        ``bn(a + b) = scale * a + (scale * b + shift)``, goes into both
        branches' last convs: the scale into both, the shift into one."""
        self.conv.fuse()
        self.low_res[0].fuse()
        self.low_res[1].fuse()
        if isinstance(self.norm, nn.Identity):
            return
        scale, shift = bn_scale_shift(self.norm)
        for conv in (self.high_res[-1], self.low_res[-1]):
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias.mul_(scale)
        self.high_res[-1].bias.add_(shift)
        self.norm = nn.Identity()


class HRBlock(nn.Module):
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
                 norm_cfg: Dict, act_cfg: Dict) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.high_res = ConvNormAct(dim, dim, 3, groups=dim,
                                    norm_cfg=norm_cfg)
        self.low_res = nn.Sequential(
            ConvNormAct(dim, dim, 3, 2, groups=dim, norm_cfg=norm_cfg),
            ConvNormAct(dim, hidden, 1, act_cfg=act_cfg),
            ConvNormAct(hidden, dim, 1, norm_cfg=norm_cfg))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.identity_folded = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = add_upsampled(self.high_res(x), self.low_res(x))
        if self.identity_folded:
            return mixed
        return x + self.drop_path(mixed)

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold the norms into the convs and the residual into the
        depthwise high-resolution conv (a centre tap of 1), so that
        inference runs ``high'(x) + up2(low(x))``. Eval only: it bypasses
        stochastic depth."""
        for conv in (self.high_res, *self.low_res):
            conv.fuse()
        if not self.identity_folded:
            self.high_res.conv.weight[:, 0, 1, 1] += 1
            self.identity_folded = True


class CFFNBlock(nn.Module):
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
                 norm_cfg: Dict, act_cfg: Dict) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.ffn = nn.Sequential(
            ConvNormAct(dim, hidden, 1, norm_cfg=norm_cfg),
            ConvNormAct(hidden, hidden, 3, groups=hidden, norm_cfg=norm_cfg,
                        act_cfg=act_cfg),
            ConvNormAct(hidden, dim, 1, norm_cfg=norm_cfg))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.ffn(x))

    @torch.no_grad()
    def fuse(self) -> None:
        for conv in self.ffn:
            conv.fuse()


class Attention(nn.Module):
    """Multi-head self-attention over a token map: global, with optional
    key/value spatial reduction, or within non-overlapping windows.

    Args:
        dim (int): Token channels.
        num_heads (int): Attention heads; must divide ``dim``.
        sr_ratio (int): Keys and values are computed on a map reduced by a
            ``sr_ratio`` x ``sr_ratio`` strided conv; the map is zero-padded
            on the bottom/right to a multiple of ``sr_ratio`` first, so every
            position reaches a key. 1 disables the reduction.
        window_size (int, optional): Attend within ``window_size`` x
            ``window_size`` windows (ViTDet's windowed attention, all windows
            in one batched call); maps that do not split into whole windows
            are zero-padded and the padding is masked out of the keys, so
            real tokens' outputs are exactly those of attention over their
            window's real tokens. A map that fits in one window is attended
            globally (the same function, without padding). None (default):
            global attention. Needs ``sr_ratio`` 1.

    Shape:
        (B, H, W, dim) -> (B, H, W, dim)
    """

    def __init__(self, dim: int, num_heads: int, sr_ratio: int = 1,
                 window_size: Optional[int] = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by num_heads '
                             f'{num_heads}: pick heads that divide the width')
        if sr_ratio > 1 and window_size is not None:
            raise ValueError(f'sr_ratio {sr_ratio} and window_size '
                             f'{window_size} cannot be combined: windowed '
                             'attention has no key/value reduction, set '
                             'sr_ratio to 1 or window_size to None')
        self.num_heads = num_heads
        self.window_size = window_size
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, stride=sr_ratio)
            self.sr_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        s = self.window_size
        if s is None or (h <= s and w <= s):
            return self.attend(x.reshape(b, h * w, c), (h, w)).view(
                b, h, w, c)
        mask = window_padding_mask((h, w), s, x.device)
        if mask is not None:
            mask = mask.repeat(b, 1)[:, None, None, :]
        windows = self.attend(window_partition(x, s), (s, s), mask)
        return window_reverse(windows, s, (h, w))

    def attend(self, x: torch.Tensor, hw: Tuple[int, int],
               key_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attention over token sequences, one per map or window.

        Args:
            x (Tensor): Tokens (N, L, dim) of N maps of size ``hw``.
            hw (tuple[int, int]): The map's size, L = H*W (the key/value
                reduction needs it).
            key_mask (Tensor, optional): Bool (N, 1, 1, L), False at keys
                that no query may attend to.

        Returns:
            Tensor: (N, L, dim).
        """
        b, n, c = x.shape
        heads = self.num_heads
        q = self.q(x).view(b, n, heads, c // heads).transpose(1, 2)
        if self.sr_ratio > 1:
            h, w = hw
            r = self.sr_ratio
            kv_in = F.pad(nlc_to_nchw(x, hw), (0, -w % r, 0, -h % r))
            kv_in = self.sr_norm(nchw_to_nlc(self.sr(kv_in)))
        else:
            kv_in = x
        k, v = self.kv(kv_in).view(b, -1, 2, heads, c // heads).permute(
            2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Pointwise(nn.Conv2d):
    """A 1x1 convolution that acts as a token-wise linear layer (the
    Transformer blocks' CFFN works on NCHW maps so that its BatchNorm folds
    into it); initialised as a linear layer.

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 1)


class ConvFFN(nn.Module):
    """Convolutional feed-forward network (CFFN) of the Transformer blocks:
    1x1 conv -> depthwise 3x3 conv -> act -> 1x1 conv.

    Shape:
        (B, dim, H, W) -> (B, dim, H, W)
    """

    def __init__(self, dim: int, mlp_ratio: float, act_cfg: Dict) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.fc1 = Pointwise(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act = build_act(act_cfg)
        self.fc2 = Pointwise(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.dwconv(self.fc1(x))))


class TransformerBlock(nn.Module):
    """Transformer block of stages 4 and 5: pre-norm attention + CFFN.

    ``x = x + DropPath(Attention(LN(x)))``, then
    ``x = x + DropPath(CFFN(BN(x)))``: the paper normalises its
    convolutional feed-forward with BatchNorm ("we also replace LN with BN
    for CFFN block", 7.6% faster inference), which also folds into the first
    1x1 conv for deployment.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): CFFN expansion.
        sr_ratio (int): Key/value spatial reduction.
        drop_path (float): Stochastic depth rate.
        norm_cfg (dict): Norm of the CFFN.
        act_cfg (dict): Activation config.
        window_size (int, optional): Windowed attention (see
            :class:`Attention`); None for global attention.

    Shape:
        (B, dim, H, W) -> (B, dim, H, W)
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float,
                 sr_ratio: int, drop_path: float, norm_cfg: Dict,
                 act_cfg: Dict, window_size: Optional[int] = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, sr_ratio, window_size)
        self.norm2 = build_norm(norm_cfg, dim)
        self.ffn = ConvFFN(dim, mlp_ratio, act_cfg)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, H, W, C) tokens: a free view of a channels-last map.
        attn = self.attn(self.norm1(x.permute(0, 2, 3, 1)))
        x = x + self.drop_path(attn.permute(0, 3, 1, 2))
        return x + self.drop_path(self.ffn(self.norm2(x)))

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold the CFFN's BatchNorm into its first 1x1 conv:
        ``W (s x + t) + b = (W s) x + (W t + b)``."""
        if isinstance(self.norm2, nn.Identity):
            return
        scale, shift = bn_scale_shift(self.norm2)
        fc1 = self.ffn.fc1
        fc1.bias.add_(fc1.weight.flatten(1) @ shift)
        fc1.weight.mul_(scale.view(1, -1, 1, 1))
        self.norm2 = nn.Identity()


class IRDSa(nn.Module):
    """Inverted residual downsampling, variant a (into stages 2 and 3).

    Main branch: strided 3x3 conv that expands to ``expand_ratio * out``
    channels, then a 1x1 conv that shrinks them to ``out``; plus a
    downsampling shortcut (2x2 average pool, ceil mode, then 1x1 conv).

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H/2), ceil(W/2))
    """

    def __init__(self, in_channels: int, out_channels: int,
                 expand_ratio: float, norm_cfg: Dict, act_cfg: Dict) -> None:
        super().__init__()
        hidden = int(out_channels * expand_ratio)
        self.conv = nn.Sequential(
            ConvNormAct(in_channels, hidden, 3, 2, norm_cfg=norm_cfg,
                        act_cfg=act_cfg),
            ConvNormAct(hidden, out_channels, 1, norm_cfg=norm_cfg))
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, ceil_mode=True),
            ConvNormAct(in_channels, out_channels, 1, norm_cfg=norm_cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.shortcut(x)

    @torch.no_grad()
    def fuse(self) -> None:
        for conv in (*self.conv, self.shortcut[1]):
            conv.fuse()


class IRDSb(nn.Module):
    """Inverted residual downsampling, variant b (into stages 4 and 5).

    1x1 expand (norm + act), depthwise strided 3x3, 1x1 project; norm and
    activation follow only the first conv. Plus a downsampling shortcut
    (2x2 average pool, ceil mode, then 1x1 conv).

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H/2), ceil(W/2))
    """

    def __init__(self, in_channels: int, out_channels: int,
                 expand_ratio: float, norm_cfg: Dict, act_cfg: Dict) -> None:
        super().__init__()
        hidden = int(in_channels * expand_ratio)
        self.conv = nn.Sequential(
            ConvNormAct(in_channels, hidden, 1, norm_cfg=norm_cfg,
                        act_cfg=act_cfg),
            nn.Conv2d(hidden, hidden, 3, stride=2, padding=1, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1))
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, ceil_mode=True),
            ConvNormAct(in_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.shortcut(x)

    @torch.no_grad()
    def fuse(self) -> None:
        self.conv[0].fuse()


class HIRIStage(nn.Module):
    """One stage: an optional downsampling layer, then ``depth`` blocks.

    Shape:
        (B, C_in, H, W) -> (B, C_out, ceil(H/s), ceil(W/s)), s = 2 when the
        stage downsamples, else 1.
    """

    def __init__(self, downsample: Optional[nn.Module],
                 blocks: List[nn.Module]) -> None:
        super().__init__()
        self.downsample = downsample
        self.blocks = nn.ModuleList(blocks)
        self.grad_checkpointing = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        for block in self.blocks:
            if self.grad_checkpointing and x.requires_grad:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x


def _positive_sequence(length: int, ints: bool) -> Rule:
    kind = 'ints' if ints else 'numbers'
    return Rule(f'a sequence of {length} positive {kind}',
                _sequence_of(_is_int if ints else _is_number),
                lambda value: len(value) == length and
                all(v > 0 for v in value))


def _is_cfg(value: Any) -> bool:
    return isinstance(value, dict) and 'type' in value


# What each HIRIViT argument must be (five stages; 4 and 5 are the
# Transformer stages). norm_cfg's and act_cfg's values are checked by
# build_norm and build_act.
ARGUMENT_RULES = {
    'in_channels': Rule('a positive int', _is_int, lambda value: value >= 1),
    'out_indices': Rule(
        'a stage index or a non-empty sequence of them, ints in [-5, 4] '
        '(stages 0-4, negative ones counted from the last)',
        _sequence_of(_is_int),
        lambda value: len(value) > 0 and all(-5 <= i <= 4 for i in value)),
    'sr_ratios': Rule('a sequence of 2 ints >= 1, one per Transformer stage '
                      '(4 and 5)', _sequence_of(_is_int),
                      lambda value: len(value) == 2 and min(value) >= 1),
    'window_sizes': Rule(
        'a sequence of 2 window sides in tokens, one per Transformer stage '
        '(4 and 5), each a positive int or None (global attention)',
        _sequence_of(lambda size: size is None or _is_int(size)),
        lambda value: len(value) == 2 and
        all(size is None or size >= 1 for size in value)),
    'drop_path_rate': Rule("a float in [0, 1), or None for the arch's value",
                           lambda value: value is None or _is_number(value),
                           lambda value: value is None or 0 <= value < 1),
    'frozen_stages': Rule('an int in [-1, 4] (-1 freezes nothing)', _is_int,
                          lambda value: -1 <= value <= 4),
    'norm_eval': _BOOL,
    'with_cp': _BOOL,
    'norm_cfg': Rule('a dict with a "type" key', _is_cfg),
    'act_cfg': Rule('a dict with a "type" key', _is_cfg),
    'check_finite': _BOOL,
    'channels_last': _BOOL,
}

# What each key of a custom ``arch`` dict must be.
ARCH_RULES = {
    'channels': _positive_sequence(5, ints=True),
    'depths': _positive_sequence(5, ints=True),
    'num_heads': _positive_sequence(5, ints=True),
    'mlp_ratios': _positive_sequence(5, ints=False),
    'downsample_ratios': _positive_sequence(4, ints=False),
    'drop_path_rate': Rule('a float in [0, 1)', _is_number,
                           lambda value: 0 <= value < 1),
}


class HIRIViT(nn.Module):
    """HIRI-ViT backbone (plain PyTorch; used by mmdet, mmseg and timm).

    Args:
        arch (str | dict): ``'s'``, ``'b'``, ``'l'`` (or ``'small'``,
            ``'base'``, ``'large'``), or a dict with the keys of
            :attr:`arch_zoo` entries: ``channels``, ``depths``,
            ``mlp_ratios``, ``num_heads`` (5 values each),
            ``downsample_ratios`` (4 values) and optionally
            ``drop_path_rate``. Defaults to ``'s'``.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (int | Sequence[int]): Stages (0-4) whose maps are
            returned, each through its own norm (BatchNorm for stages 1-3,
            LayerNorm for 4-5). Defaults to ``(1, 2, 3, 4)``: strides 8, 16,
            32, 64. Stages after the last index are built but not run.
        sr_ratios (Sequence[int]): Key/value spatial reduction of the
            Transformer stages 4 and 5. Defaults to ``(1, 1)`` (the paper).
        window_sizes (Sequence[int | None]): Attention window side (tokens)
            of the Transformer stages 4 and 5; None attends globally.
            Defaults to ``(None, None)`` (the paper). ``(14, None)`` keeps
            stage 4 at the 14x14 grid it sees at the 448 pretraining size
            when the input is much larger (detection): the same weights
            compute the same function at 448 and the cost grows linearly
            with the image. Padded windows are masked exactly (see
            :class:`Attention`). A stage cannot have both a window and a
            ``sr_ratio`` above 1. No parameters depend on it: checkpoints
            load either way.
        drop_path_rate (float, optional): Stochastic depth, increasing
            linearly over all blocks. Defaults to the arch's value (S 0.1,
            B 0.2, L 0.3).
        frozen_stages (int): Freeze the stem and stages ``0..frozen_stages``
            (parameters and norm statistics); -1 freezes nothing.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training.
        with_cp (bool): Gradient checkpointing of every block.
        norm_cfg (dict): BatchNorm of the convolutional parts:
            ``dict(type='BN' | 'SyncBN', ...)``. Defaults to BN.
        act_cfg (dict): Activation (a timm activation name as ``type``).
            Defaults to ``dict(type='GELU')``.
        check_finite (bool): Raise on NaN/Inf input. A debugging aid: the
            check synchronises GPU and host, so it is off by default.
        channels_last (bool): Keep the weights and every inner map in
            channels-last memory (NHWC): the tokens of the Transformer
            stages are then free views, and convolutions take their fast
            NHWC kernels on GPUs and CPUs. The outputs come back in the
            input's memory format (NCHW-contiguous for an NCHW input, which
            ops such as mmcv's RoIAlign require). Defaults to True.

    Attributes:
        channels (tuple[int]): Width of each of the five stages.
        strides (tuple[int]): Total stride of each stage: (4, 8, 16, 32, 64).
        out_channels / out_strides (tuple[int]): The same for ``out_indices``.
        window_sizes (tuple[int | None]): Attention windows of stages 4, 5.

    Shape:
        (B, in_channels, H, W) -> tuple of (B, channels[i], ceil(H/strides[i]),
        ceil(W/strides[i])) for i in ``out_indices``.

    Arguments are checked at construction against :data:`ARGUMENT_RULES`
    (a wrong one raises a TypeError or ValueError naming it, what it must
    be and what was given).
    """

    # Table I of the paper is not available: depths, widths and ratios are
    # calibrated so that S costs the paper's 5.0 GFLOPs at 448x448 and B and
    # L about 2x and 3x that (see the README's "Fidelity" section).
    arch_zoo = {
        **dict.fromkeys(['s', 'small'], {
            'channels': (32, 64, 128, 320, 448),
            'depths': (2, 2, 6, 9, 3),
            'mlp_ratios': (4, 8, 6, 4, 4),
            'num_heads': (1, 1, 1, 5, 7),
            'downsample_ratios': (4, 4, 4, 4),
            'drop_path_rate': 0.1}),
        **dict.fromkeys(['b', 'base'], {
            'channels': (48, 96, 192, 384, 512),
            'depths': (2, 2, 6, 13, 3),
            'mlp_ratios': (4, 8, 6, 4, 4),
            'num_heads': (1, 1, 1, 6, 8),
            'downsample_ratios': (4, 4, 4, 4),
            'drop_path_rate': 0.2}),
        **dict.fromkeys(['l', 'large'], {
            'channels': (64, 96, 224, 448, 640),
            'depths': (2, 2, 6, 15, 3),
            'mlp_ratios': (4, 8, 6, 4, 4),
            'num_heads': (1, 1, 1, 7, 10),
            'downsample_ratios': (4, 4, 4, 4),
            'drop_path_rate': 0.3}),
    }
    num_stages = 5
    strides = (4, 8, 16, 32, 64)

    def __init__(self,
                 arch: Union[str, dict] = 's',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (1, 2, 3, 4),
                 sr_ratios: Sequence[int] = (1, 1),
                 window_sizes: Sequence[Optional[int]] = (None, None),
                 drop_path_rate: Optional[float] = None,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 norm_cfg: Dict = dict(type='BN', requires_grad=True),
                 act_cfg: Dict = dict(type='GELU'),
                 check_finite: bool = False,
                 channels_last: bool = True) -> None:
        super().__init__()
        if _is_int(out_indices):
            out_indices = (out_indices, )
        check_arguments(ARGUMENT_RULES, dict(
            in_channels=in_channels, out_indices=out_indices,
            sr_ratios=sr_ratios, window_sizes=window_sizes,
            drop_path_rate=drop_path_rate, frozen_stages=frozen_stages,
            norm_eval=norm_eval, with_cp=with_cp, norm_cfg=norm_cfg,
            act_cfg=act_cfg, check_finite=check_finite,
            channels_last=channels_last))
        for stage, (ratio, size) in enumerate(zip(sr_ratios, window_sizes),
                                              start=4):
            if ratio > 1 and size is not None:
                raise ValueError(
                    f'Stage {stage} has both sr_ratios {ratio} and '
                    f'window_sizes {size}: windowed attention has no '
                    'key/value reduction; set that entry of sr_ratios to 1 '
                    'or of window_sizes to None')
        self.arch_settings = self._parse_arch(arch)
        self.out_indices = tuple(sorted({i % self.num_stages
                                         for i in out_indices}))
        if drop_path_rate is None:
            drop_path_rate = self.arch_settings.get('drop_path_rate', 0.)
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.check_finite = check_finite
        self.memory_format = torch.channels_last if channels_last else \
            torch.contiguous_format
        self.drop_path_rate = float(drop_path_rate)
        self.window_sizes = tuple(window_sizes)
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
        self.stages = nn.ModuleList()
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
                                     sr_ratios[i - 3], r, **conv_kw,
                                     window_size=window_sizes[i - 3])
                    for r in rates
                ]
            self.stages.append(HIRIStage(downsample, blocks))
        # One norm per returned map, of that stage's kind (mmdet's Swin and
        # PVT do the same); it normalises the output, not the main path.
        for i in self.out_indices:
            norm = build_norm(norm_cfg, channels[i]) if i < 3 else \
                LayerNorm2d(channels[i])
            self.add_module(f'norm{i}', norm)
        self.set_grad_checkpointing(with_cp)
        self._reset_parameters()
        self.to(memory_format=self.memory_format)

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
        if not required <= set(arch) <= required | {'drop_path_rate'}:
            raise KeyError(f'A custom arch needs exactly the keys '
                           f'{sorted(required)} (and optionally '
                           f'drop_path_rate), got {sorted(arch)}')
        check_arguments(ARCH_RULES, arch, prefix='arch')
        return dict(arch)

    def init_weights(self) -> None:
        """Re-initialise every layer (done once at construction too)."""
        self._reset_parameters()

    @torch.no_grad()
    def _reset_parameters(self) -> None:
        """One rule for every layer: convs fan-out normal (He et al.),
        linears (and the 1x1 convs that stand for them in the Transformer
        blocks' CFFN) truncated normal (std 0.02), biases 0, norms weight 1:
        the rule of the authors' earlier code, where the CFFN's projections
        are linear layers."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, Pointwise)):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * \
                    m.out_channels // m.groups
                m.weight.normal_(0, math.sqrt(2. / fan_out))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (_BatchNorm, nn.LayerNorm)):
                m.weight.fill_(1.)
                m.bias.zero_()

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute every block in the backward pass (``with_cp``)."""
        for stage in self.stages:
            stage.grad_checkpointing = enable

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
        frozen += [getattr(self, f'norm{i}') for i in self.out_indices
                   if i <= self.frozen_stages]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The maps of ``out_indices`` through their output norms (see the
        class's Shape); stages after the last index are not run."""
        return tuple(self.forward_intermediates(
            x, list(self.out_indices), norm=True, stop_early=True,
            intermediates_only=True))

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: Optional[Union[int, List[int]]] = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = 'NCHW',
        intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """The stage loop, with timm's feature-extraction semantics.

        :meth:`forward` and the timm classifier's ``forward_features``,
        ``forward_intermediates`` and ``features_only`` model all run it.

        Args:
            x (Tensor): Images (B, in_channels, H, W).
            indices (int | list[int], optional): Stages to return: the last
                ``n`` for an int, all for None, else stage indices (negative
                ones counted from the last), as timm's
                ``feature_take_indices`` reads them.
            norm (bool): Pass each returned map through its stage's output
                norm where the stage has one (the stages of ``out_indices``;
                for the classifier, timm's meaning: the final norm on the
                last stage); maps of other stages come back raw. False
                returns every map raw.
            stop_early (bool): Run no stage after the last of ``indices``.
            output_fmt (str): ``'NCHW'``, the only layout.
            intermediates_only (bool): Return the maps only.

        Returns:
            list[Tensor] | tuple[Tensor, list[Tensor]]: The maps
            (B, channels[i], ceil(H/strides[i]), ceil(W/strides[i])) of
            ``indices`` in stage order; unless ``intermediates_only``,
            preceded by the final features: the last stage run, through its
            output norm when it has one. Every map is in the input's memory
            format (NCHW-contiguous for an NCHW input).
        """
        if output_fmt != 'NCHW':
            raise ValueError(f'HIRIViT returns NCHW maps, got output_fmt '
                             f'{output_fmt!r}')
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'HIRIViT expects (B, {self.in_channels}, H, W) input, got '
                f'{tuple(x.shape)}: convert the images to {self.in_channels} '
                'channels or set the backbone\'s in_channels')
        if self.check_finite and not torch.isfinite(x).all():
            raise ValueError(
                'HIRIViT input contains NaN or Inf: check the images and the '
                'data preprocessor (mean/std) before training on them')
        take, last = feature_take_indices(len(self.stages), indices)
        out_format = torch.contiguous_format if x.is_contiguous() else \
            torch.channels_last
        x = self.stem(x.contiguous(memory_format=self.memory_format))
        stages = self.stages[:last + 1] if stop_early else self.stages
        intermediates = []
        for i, stage in enumerate(stages):
            x = stage(x)
            if i in take:
                out = self._output_norm(x, i) if norm else x
                intermediates.append(out.contiguous(memory_format=out_format))
        if intermediates_only:
            return intermediates
        final = self._output_norm(x, len(stages) - 1)
        return final.contiguous(memory_format=out_format), intermediates

    def _output_norm(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        """``x`` through stage ``stage``'s output norm, if it has one."""
        norm = getattr(self, f'norm{stage}', None)
        return x if norm is None else norm(x)

    @torch.no_grad()
    def switch_to_deploy(self) -> 'HIRIViT':
        """Fold every BatchNorm into a conv, and each HR-block's residual
        into its depthwise conv, for inference.

        Puts the model in eval mode; irreversible. Outputs match the eval-
        mode model to float rounding. BatchNorm output norms (stages 1-3)
        have no conv after them and stay (one cheap affine per output).
        """
        self.eval()
        for m in self.modules():
            if m is not self and hasattr(m, 'fuse'):
                m.fuse()
        return self.to(memory_format=self.memory_format)
