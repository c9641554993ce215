"""Windowed attention in the Transformer stages (``window_sizes``): window
partition and reverse, the padding mask, exactness against attention over
each window's real tokens, independence from the padding, one batched
attention call per block, and the model-level guarantees (same function at
the 448 pretraining grid, same state dict, checkpointing, deploy folding,
timm)."""
import pytest
import timm
import torch
import torch.nn.functional as F

from hiri_mm import HIRIViT
from hiri_mm.models.backbones import hiri_vit
from hiri_mm.models.backbones.hiri_vit import (Attention, window_padding_mask,
                                               window_partition,
                                               window_reverse)


@pytest.mark.parametrize('hw, size', [((6, 8), 2), ((7, 5), 3), ((1, 9), 4)])
def test_window_reverse_undoes_partition_and_windows_hold_their_blocks(
        hw, size):
    h, w = hw
    x = torch.randn(2, h, w, 3)
    windows = window_partition(x, size)
    rows, cols = -(-h // size), -(-w // size)
    assert windows.shape == (2 * rows * cols, size * size, 3)
    torch.testing.assert_close(window_reverse(windows, size, hw), x,
                               rtol=0, atol=0)
    # Window (batch 1, last row, first column) holds that block of the map,
    # zero where it runs past the bottom edge.
    block = windows[rows * cols + (rows - 1) * cols].view(size, size, 3)
    top = (rows - 1) * size
    torch.testing.assert_close(block[:h - top, :min(size, w)],
                               x[1, top:, :size], rtol=0, atol=0)
    assert not block[h - top:].any()


def test_padding_mask_marks_real_tokens_and_is_none_without_padding():
    assert window_padding_mask((6, 8), 2, torch.device('cpu')) is None
    mask = window_padding_mask((5, 7), 3, torch.device('cpu'))
    assert mask.shape == (2 * 3, 9) and mask.dtype == torch.bool
    assert mask.sum() == 5 * 7
    assert mask.any(1).all()  # no window without a real key
    # The last window (rows 3-5, columns 6-8) holds map rows 3-4 of
    # column 6 only.
    corner = torch.zeros(3, 3, dtype=torch.bool)
    corner[:2, 0] = True
    assert torch.equal(mask[-1].view(3, 3), corner)
    assert mask[0].all()


def _attention_per_window(attn, x, size):
    """Reference: global attention over the real tokens of each window,
    one window at a time."""
    out = torch.empty_like(x)
    for top in range(0, x.shape[1], size):
        for left in range(0, x.shape[2], size):
            window = x[:, top:top + size, left:left + size]
            out[:, top:top + size, left:left + size] = attn(window)
    return out


@pytest.mark.parametrize('hw, size', [
    ((10, 15), 5),   # whole windows: no mask
    ((17, 12), 5),   # padded in both directions
    ((15, 11), 14),  # two windows, the second mostly padding
])
def test_windowed_attention_equals_attention_within_each_window(hw, size):
    windowed = Attention(16, 2, window_size=size).eval()
    plain = Attention(16, 2).eval()
    plain.load_state_dict(windowed.state_dict())
    x = torch.randn(2, *hw, 16)
    with torch.no_grad():
        torch.testing.assert_close(windowed(x),
                                   _attention_per_window(plain, x, size))


@pytest.mark.parametrize('hw', [(13, 11), (14, 14), (14, 3)])
def test_a_window_as_large_as_the_grid_is_global_attention(hw):
    windowed = Attention(16, 2, window_size=14).eval()
    plain = Attention(16, 2).eval()
    plain.load_state_dict(windowed.state_dict())
    x = torch.randn(1, *hw, 16)
    with torch.no_grad():
        torch.testing.assert_close(windowed(x), plain(x))


def test_real_tokens_do_not_depend_on_what_the_padding_holds():
    attn = Attention(16, 2, window_size=4).eval()
    x = torch.randn(2, 6, 7, 16)
    mask = window_padding_mask((6, 7), 4, x.device).repeat(2, 1)
    windows = window_partition(x, 4)
    garbage = windows.clone()
    garbage[~mask] = 1e4 * torch.randn(int((~mask).sum()), 16)
    key_mask = mask[:, None, None, :]
    with torch.no_grad():
        clean = attn.attend(windows, (4, 4), key_mask)
        dirty = attn.attend(garbage, (4, 4), key_mask)
    torch.testing.assert_close(dirty[mask], clean[mask])


def test_attention_combined_with_key_value_reduction_is_rejected():
    with pytest.raises(ValueError, match='sr_ratio 2 and window_size 7'):
        Attention(16, 2, sr_ratio=2, window_size=7)


def _sdpa_masks(monkeypatch):
    """Record the attn_mask of every scaled_dot_product_attention call."""
    masks = []
    sdpa = F.scaled_dot_product_attention

    def record(q, k, v, attn_mask=None, **kwargs):
        masks.append(attn_mask)
        return sdpa(q, k, v, attn_mask=attn_mask, **kwargs)

    monkeypatch.setattr(hiri_vit.F, 'scaled_dot_product_attention', record)
    return masks


@pytest.mark.parametrize('hw, padded', [((256, 192), False),
                                        ((288, 192), True)])
def test_one_attention_call_per_block_with_a_mask_only_when_padded(
        tiny_arch, monkeypatch, hw, padded):
    # Stage 4 of a 256x192 input is an 8x6 grid: 4x3 windows of 2x2, no
    # padding; a 288x192 input gives 9x6, padded.
    model = HIRIViT(arch={**tiny_arch, 'depths': (1, 1, 1, 2, 1)},
                    window_sizes=(2, None)).eval()
    masks = _sdpa_masks(monkeypatch)
    with torch.no_grad():
        model(torch.randn(2, 3, *hw))
    # One call for each of the two stage-4 blocks and the stage-5 block
    # (global: never masked).
    assert [mask is not None for mask in masks] == [padded, padded, False]


def _same_weights(tiny_arch):
    plain = HIRIViT(arch=tiny_arch, out_indices=(3, 4))
    windowed = HIRIViT(arch=tiny_arch, out_indices=(3, 4),
                       window_sizes=(14, None))
    # Sharper attention than the initial near-uniform one.
    for name, param in plain.named_parameters():
        if '.attn.' in name:
            param.data.normal_(0, 0.3)
    windowed.load_state_dict(plain.state_dict())
    return plain.eval(), windowed.eval()


def test_windows_change_no_parameter_and_are_the_same_function_at_448(
        tiny_arch):
    plain, windowed = _same_weights(tiny_arch)
    assert plain.state_dict().keys() == windowed.state_dict().keys()
    with torch.no_grad():
        # Stage 4 sees the 14x14 grid at 448: one window.
        x = torch.randn(1, 3, 448, 448)
        for a, b in zip(plain(x), windowed(x)):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
        # Larger inputs split stage 4 into windows: a different function.
        x = torch.randn(1, 3, 960, 512)
        assert (plain(x)[0] - windowed(x)[0]).abs().max() > 1e-3


def test_timm_classifier_takes_window_sizes(tiny_arch):
    model = timm.create_model('hiri_vit_s', arch=tiny_arch, num_classes=3,
                              window_sizes=(14, None))
    assert model.backbone.window_sizes == (14, None)
    assert model.backbone.stages[3].blocks[0].attn.window_size == 14
    assert model.eval()(torch.randn(1, 3, 960, 64)).shape == (1, 3)


def test_with_cp_and_windows_give_equal_outputs_and_gradients(tiny_arch):
    plain = HIRIViT(arch=tiny_arch, window_sizes=(2, 2))
    ckpt = HIRIViT(arch=tiny_arch, window_sizes=(2, 2), with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 160, 96)  # stage 4: 5x3 grid, padded windows
    results = []
    for model in (plain, ckpt):
        model.train()
        xi = x.clone().requires_grad_()
        outs = model(xi)
        sum((o**2).mean() for o in outs).backward()
        results.append((outs, xi.grad, [p.grad for p in model.parameters()]))
    (outs_a, dx_a, grads_a), (outs_b, dx_b, grads_b) = results
    assert all(g is not None for g in grads_b)
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(dx_a, dx_b)
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(a, b)


def test_deploy_folding_keeps_windowed_outputs(tiny_arch):
    model = HIRIViT(arch=tiny_arch, window_sizes=(2, None))
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 160, 96))  # non-trivial BN statistics
    model.eval()
    x = torch.randn(1, 3, 160, 96)
    with torch.no_grad():
        ref = model(x)
        out = model.switch_to_deploy()(x)
    for a, b in zip(ref, out):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4 * a.abs().max())


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(window_sizes=14), TypeError, 'window_sizes must be a sequence'),
    (dict(window_sizes=(14, )), ValueError, 'window_sizes must be'),
    (dict(window_sizes=(0, None)), ValueError, 'window_sizes must be'),
    (dict(window_sizes=(14.0, None)), TypeError, 'window_sizes must be'),
    (dict(window_sizes=(True, None)), TypeError, 'window_sizes must be'),
    (dict(window_sizes=(14, None), sr_ratios=(2, 1)), ValueError,
     'Stage 4 has both sr_ratios 2 and window_sizes 14'),
])
def test_bad_window_sizes_name_the_argument(tiny_arch, kwargs, error,
                                            message):
    with pytest.raises(error, match=message):
        HIRIViT(arch=tiny_arch, **kwargs)
