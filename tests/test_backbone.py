"""HIRIViT: arch parsing and argument checks, shapes and strides, the
paper's block structure, initialisation, gradients, freezing, norm_eval,
checkpointing, deploy-mode folding and torch.compile."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import LayerNorm2d
from torch.nn.modules.batchnorm import _BatchNorm

from hiri_mm import HIRIViT
from hiri_mm.models.backbones.hiri_vit import (ConvNormAct, DenseAct,
                                               HRBlock, TransformerBlock,
                                               add_upsampled, build_act)
from tests.helpers import assert_initialised_by_the_rule


def _expected_shapes(model, h, w):
    return [(1, model.channels[i], math.ceil(h / model.strides[i]),
             math.ceil(w / model.strides[i])) for i in model.out_indices]


@pytest.fixture(scope='module')
def every_size():
    """S, B and L returning all five stages (built once: they are big)."""
    return {arch: HIRIViT(arch=arch, out_indices=(0, 1, 2, 3, 4)).eval()
            for arch in 'sbl'}


# One full-size input (S); every size at an odd and a small one.
@pytest.mark.parametrize('arch,hw', [
    ('s', (448, 448)),
    *[(arch, hw) for hw in [(333, 517), (65, 97)] for arch in 'sbl']])
def test_output_shapes_follow_declared_channels_and_strides(
        arch, hw, every_size):
    model = every_size[arch]
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    assert [tuple(o.shape) for o in outs] == _expected_shapes(model, *hw)


def test_default_outputs_are_stages_2_to_5_at_strides_8_to_64():
    model = HIRIViT(arch='s')
    assert model.out_indices == (1, 2, 3, 4)
    assert model.out_strides == (8, 16, 32, 64)
    assert model.out_channels == model.channels[1:]
    assert model.strides == (4, 8, 16, 32, 64)


def test_arch_aliases_and_custom_dict(tiny_arch):
    assert HIRIViT('S').channels == HIRIViT.arch_zoo['small']['channels']
    assert HIRIViT(arch=tiny_arch).channels == tiny_arch['channels']


def test_unknown_arch_lists_valid_ones():
    with pytest.raises(KeyError, match=r"'b'.*'l'.*'s'"):
        HIRIViT(arch='xl')


def test_custom_arch_with_wrong_keys_lengths_or_types(tiny_arch):
    with pytest.raises(KeyError, match='exactly the keys'):
        HIRIViT(arch=dict(channels=(8, 16, 16, 32, 32)))
    with pytest.raises(ValueError, match=r"arch\['depths'\] .*sequence of 5"):
        HIRIViT(arch={**tiny_arch, 'depths': (1, 1, 1, 1)})
    with pytest.raises(TypeError, match=r"arch\['channels'\].*ints"):
        HIRIViT(arch={**tiny_arch, 'channels': (8, 16, 16.5, 32, 32)})


@pytest.mark.parametrize('kwargs, message', [
    (dict(out_indices=(1, 5)), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
    (dict(frozen_stages=-2), 'frozen_stages'),
    (dict(sr_ratios=(1, )), 'sr_ratios'),
])
def test_bad_arguments_raise(tiny_arch, kwargs, message):
    with pytest.raises(ValueError, match=message):
        HIRIViT(arch=tiny_arch, **kwargs)


@pytest.mark.parametrize('kwargs, message', [
    (dict(sr_ratios=3), 'sr_ratios must be a sequence of 2 ints'),
    (dict(sr_ratios=(2, '1')), 'sr_ratios must be a sequence of 2 ints'),
    (dict(frozen_stages='one'), 'frozen_stages must be an int'),
    (dict(out_indices=[]), 'out_indices must be .*non-empty'),
    (dict(out_indices='1234'), 'out_indices must be a stage index'),
    (dict(drop_path_rate='0.1'), 'drop_path_rate must be a float'),
    (dict(norm_eval='yes'), 'norm_eval must be True or False'),
    (dict(norm_cfg='BN'), 'norm_cfg must be a dict'),
    (dict(norm_cfg=dict(type='GN')),
     r"norm_cfg\['type'\] must be one of .*'GN'"),
])
def test_wrong_typed_arguments_fail_at_build_time_naming_the_argument(
        tiny_arch, kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        HIRIViT(arch=tiny_arch, **kwargs)


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(norm_cfg=dict(type='BN', eps='1e-5')), TypeError,
     r"norm_cfg\['eps'\] must be a positive number, got '1e-5'"),
    (dict(norm_cfg=dict(type='BN', momentum=2)), ValueError,
     r"norm_cfg\['momentum'\] must be a number in \[0, 1\]"),
    (dict(norm_cfg=dict(type='BN', requires_grad='no')), TypeError,
     r"norm_cfg\['requires_grad'\] must be True or False"),
    (dict(act_cfg=dict(type='Swish2')), ValueError,
     r"act_cfg\['type'\] must be a timm activation name.*'Swish2'"),
    (dict(act_cfg='GELU'), TypeError, 'act_cfg must be a dict'),
    (dict(in_channels=0), ValueError, 'in_channels must be a positive int'),
    (dict(with_cp=1), TypeError, 'with_cp must be True or False'),
])
def test_config_values_are_checked_at_build_time(tiny_arch, kwargs, error,
                                                 message):
    with pytest.raises(error, match=message):
        HIRIViT(arch=tiny_arch, **kwargs)


def test_bools_are_not_numbers_in_a_custom_arch(tiny_arch):
    with pytest.raises(TypeError, match=r"arch\['mlp_ratios'\] .*numbers"):
        HIRIViT(arch={**tiny_arch, 'mlp_ratios': (True, 2, 2, 2, 2)})
    with pytest.raises(ValueError, match=r"arch\['drop_path_rate'\]"):
        HIRIViT(arch={**tiny_arch, 'drop_path_rate': 1.5})


def test_valid_norm_and_activation_configs_build(tiny_arch):
    model = HIRIViT(arch=tiny_arch, act_cfg=dict(type='SiLU'),
                    norm_cfg=dict(type='BN', eps=1e-3, momentum=None,
                                  requires_grad=False))
    bn = model.stem.norm
    assert bn.eps == 1e-3 and bn.momentum is None
    assert not bn.weight.requires_grad
    assert isinstance(model.stem.conv.act.act, nn.SiLU)


@pytest.mark.parametrize('init_cfg', ['x.pth', ['x.pth'], dict(file='x')])
def test_mmengine_backbone_rejects_an_init_cfg_that_is_no_dict(tiny_arch,
                                                               init_cfg):
    from hiri_mm.openmmlab.backbone import HIRIViT as MMHIRIViT
    fix = r"init_cfg=dict\(type='Pretrained', checkpoint='x.pth'\)"
    with pytest.raises(TypeError, match=fix):
        MMHIRIViT(arch=tiny_arch, init_cfg=init_cfg)


def test_negative_out_index_counts_from_the_last_stage(tiny_arch):
    assert HIRIViT(arch=tiny_arch, out_indices=(-1, )).out_indices == (4, )


def test_wrong_input_channels_names_the_fix(tiny_arch):
    model = HIRIViT(arch=tiny_arch).eval()
    with pytest.raises(ValueError, match='in_channels'):
        model(torch.randn(1, 4, 64, 64))
    grey = HIRIViT(arch=tiny_arch, in_channels=1).eval()
    assert len(grey(torch.randn(1, 1, 64, 64))) == 4


def test_non_finite_input_is_checked_only_when_asked(tiny_arch):
    x = torch.full((1, 3, 64, 64), float('nan'))
    HIRIViT(arch=tiny_arch).eval()(x)  # no host sync in the default path
    with pytest.raises(ValueError, match='NaN or Inf'):
        HIRIViT(arch=tiny_arch, check_finite=True).eval()(x)


def test_every_parameter_gets_a_gradient_with_default_outputs(tiny_arch):
    model = HIRIViT(arch=tiny_arch, drop_path_rate=0.1)
    model.init_weights()
    model.train()
    outs = model(torch.randn(2, 3, 97, 65))
    sum(o.mean() for o in outs).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_sr_ratio_reduces_keys_and_values(tiny_arch):
    model = HIRIViT(arch=tiny_arch, sr_ratios=(2, 1)).eval()
    attn = model.stages[3].blocks[0].attn
    assert attn.sr.stride == (2, 2)
    outs = model(torch.randn(1, 3, 129, 70))
    assert [tuple(o.shape) for o in outs] == _expected_shapes(model, 129, 70)


@pytest.mark.parametrize('hw', [(7, 7), (7, 6), (6, 9)])
def test_spatial_reduction_attends_to_every_position_of_odd_maps(hw):
    """With sr_ratio 2, a change in the odd last row/column of a map must
    reach the keys/values that every query attends to."""
    block = TransformerBlock(16, 2, 2., 2, 0., dict(type='BN'),
                             dict(type='GELU')).eval()
    x = torch.randn(1, 16, *hw)
    edge = x.clone()
    if hw[0] % 2:
        edge[:, :, -1, :] = torch.randn(16, hw[1])
    if hw[1] % 2:
        edge[:, :, :, -1] = torch.randn(16, hw[0])
    with torch.no_grad():
        a, b = block(x), block(edge)
    # Position (0, 0) is far from the changed row/column: only attention
    # over the reduced keys/values can carry the change there.
    assert not torch.allclose(a[..., 0, 0], b[..., 0, 0])


def test_frozen_stages_freeze_parameters_and_bn_statistics(tiny_arch):
    model = HIRIViT(arch=tiny_arch, frozen_stages=1)
    model.train()
    frozen = [model.stem, model.stages[0], model.stages[1]]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    stats = [m.running_mean.clone() for m in model.stem.modules()
             if isinstance(m, _BatchNorm)]
    model(torch.randn(2, 3, 64, 64))
    after = [m.running_mean for m in model.stem.modules()
             if isinstance(m, _BatchNorm)]
    assert all(torch.equal(a, b) for a, b in zip(stats, after))
    assert model.stages[2].training


def test_frozen_stages_freeze_their_output_norms(tiny_arch):
    model = HIRIViT(arch=tiny_arch, frozen_stages=1, out_indices=(0, 1, 2))
    model.train()
    assert not any(p.requires_grad for p in model.norm1.parameters())
    assert not model.norm1.training and model.norm2.training


def test_norm_eval_keeps_bn_in_eval_mode(tiny_arch):
    model = HIRIViT(arch=tiny_arch, norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    assert model.stages[3].training


def test_with_cp_gives_equal_outputs_and_gradients(tiny_arch):
    plain = HIRIViT(arch=tiny_arch)
    plain.init_weights()
    ckpt = HIRIViT(arch=tiny_arch, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 80)
    grads = []
    for model in (plain, ckpt):
        model.train()
        xi = x.clone().requires_grad_()
        outs = model(xi)
        sum((o**2).mean() for o in outs).backward()
        grads.append((outs, xi.grad,
                      [p.grad for p in model.parameters()]))
    for a, b in zip(grads[0][0], grads[1][0]):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(grads[0][1], grads[1][1])
    for a, b in zip(grads[0][2], grads[1][2]):
        torch.testing.assert_close(a, b)


def _with_trained_statistics(model):
    """Non-trivial BatchNorm statistics and affine parameters, so that
    folding has something to fold."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(2, 3, 96, 80))
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.mark.parametrize('arch', ['s', 'tiny'])
@pytest.mark.parametrize('channels_last', [False, True])
def test_deploy_folds_every_inner_batchnorm_and_keeps_outputs(
        arch, channels_last, tiny_arch):
    model = HIRIViT(arch=tiny_arch if arch == 'tiny' else arch,
                    out_indices=(0, 1, 2, 3, 4))
    model = _with_trained_statistics(model)
    x = torch.randn(1, 3, 97, 83)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = model(x)
        model.switch_to_deploy()
        out = model(x)
    outputs = {model.norm0, model.norm1, model.norm2}
    assert [m for m in model.modules()
            if isinstance(m, _BatchNorm) and m not in outputs] == []
    assert all(block.identity_folded for stage in model.stages[:2]
               for block in stage.blocks)
    for a, b in zip(ref, out):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4 * a.abs().max())


def test_deploy_is_idempotent(tiny_arch):
    model = _with_trained_statistics(HIRIViT(arch=tiny_arch))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        once = model.switch_to_deploy()(x)
        twice = model.switch_to_deploy()(x)
    for a, b in zip(once, twice):
        torch.testing.assert_close(a, b)


def test_hr_block_crops_odd_sizes():
    block = HRBlock(8, 2., 0., dict(type='BN'), dict(type='GELU')).eval()
    assert block(torch.randn(1, 8, 7, 5)).shape == (1, 8, 7, 5)


@pytest.mark.parametrize('hw', [(8, 6), (7, 5), (8, 5), (1, 1)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_add_upsampled_is_nearest_upsampling_plus_crop_in_input_dtype(
        hw, dtype):
    h, w = hw
    high = torch.randn(2, 3, h, w).to(dtype)
    low = torch.randn(2, 3, math.ceil(h / 2), math.ceil(w / 2)).to(dtype)
    ref = high.float() + F.interpolate(low.float(), scale_factor=2.,
                                       mode='nearest')[..., :h, :w]
    out = add_upsampled(high, low)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), ref.to(dtype).float())
    cl = add_upsampled(high.contiguous(memory_format=torch.channels_last),
                       low.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(cl, out)


def test_stages_after_the_last_output_are_skipped(tiny_arch):
    model = HIRIViT(arch=tiny_arch, out_indices=(0, 1))
    calls = []
    for i, stage in enumerate(model.stages):
        stage.register_forward_hook(lambda m, a, o, i=i: calls.append(i))
    outs = model(torch.randn(1, 3, 64, 64))
    assert calls == [0, 1] and len(outs) == 2
    # All five stages exist, so every stage of a full checkpoint loads; only
    # the output norms of other out_indices differ.
    result = model.load_state_dict(HIRIViT(arch=tiny_arch).state_dict(),
                                   strict=False)
    assert {k.split('.')[0] for k in result.missing_keys} == {'norm0'}
    assert {k.split('.')[0] for k in result.unexpected_keys} == {
        'norm2', 'norm3', 'norm4'}


def test_blocks_follow_the_paper(every_size):
    model = every_size['s']
    for arch in ('s', 'b', 'l'):
        settings = HIRIViT.arch_zoo[arch]
        # "each CFFN replaced with two stacked HR blocks": even depths.
        assert all(d % 2 == 0 for d in settings['depths'][:2])
        # "Remove MHA ... channel expansion in CFFN is also enlarged".
        assert settings['mlp_ratios'][2] > settings['mlp_ratios'][3]
    assert all(isinstance(s.blocks[0], HRBlock) for s in model.stages[:2])
    for block in model.stages[3].blocks:
        # BN in every CFFN, LN before attention.
        assert isinstance(block.norm1, nn.LayerNorm)
        assert isinstance(block.norm2, nn.BatchNorm2d)


def test_each_returned_stage_has_a_norm_of_its_kind_outside_the_main_path(
        tiny_arch):
    every = HIRIViT(arch=tiny_arch, out_indices=(0, 1, 2, 3, 4)).eval()
    assert [type(getattr(every, f'norm{i}')) for i in range(5)] == [
        nn.BatchNorm2d] * 3 + [LayerNorm2d] * 2
    last = HIRIViT(arch=tiny_arch, out_indices=(4, )).eval()
    last.load_state_dict(every.state_dict(), strict=False)
    for i in range(3):
        norm = getattr(every, f'norm{i}')
        norm.running_mean.fill_(5.)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        # Normalising stage outputs does not change what later stages see.
        torch.testing.assert_close(every(x)[-1], last(x)[-1])
        stage0 = every.stages[0](every.stem(x))
        torch.testing.assert_close(every(x)[0], every.norm0(stage0))


def test_forward_is_the_intermediates_of_out_indices_through_their_norms(
        tiny_arch):
    model = HIRIViT(arch=tiny_arch, out_indices=(1, 3)).eval()
    x = torch.randn(1, 3, 96, 64)
    with torch.no_grad():
        outs = model(x)
        final, raw = model.forward_intermediates(x)
        normed = model.forward_intermediates(x, indices=(1, 2, 3),
                                             norm=True, stop_early=True,
                                             intermediates_only=True)
    torch.testing.assert_close(outs[0], model.norm1(raw[1]))
    torch.testing.assert_close(outs[1], model.norm3(raw[3]))
    torch.testing.assert_close(normed[0], outs[0])
    torch.testing.assert_close(normed[1], raw[2])  # stage 2 has no norm
    torch.testing.assert_close(normed[2], outs[1])
    torch.testing.assert_close(final, raw[4])  # no norm for stage 4


def test_drop_path_defaults_to_the_arch_value(tiny_arch, every_size):
    assert [every_size[a].drop_path_rate for a in 'sbl'] == [.1, .2, .3]
    last = every_size['l'].stages[4].blocks[-1].drop_path
    assert last.drop_prob == pytest.approx(.3)
    assert HIRIViT(arch=tiny_arch).drop_path_rate == 0.
    assert HIRIViT(arch={**tiny_arch, 'drop_path_rate': .05}) \
        .drop_path_rate == .05


def test_every_layer_follows_one_initialisation_rule(every_size):
    model = every_size['s']
    assert_initialised_by_the_rule(model)
    for p in model.parameters():
        p.data.normal_()
    model.init_weights()
    assert_initialised_by_the_rule(model)


@pytest.mark.slow
@pytest.mark.parametrize('attention', [
    dict(sr_ratios=(2, 1)),
    # Stage 4 is a 3x2 grid: 2x2 windows, padded and masked.
    dict(sr_ratios=(1, 2), window_sizes=(2, None)),
])
def test_compiles_as_one_graph_for_training_and_inference(tiny_arch,
                                                          attention):
    model = HIRIViT(arch=tiny_arch, drop_path_rate=0.1, **attention)
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    x = torch.randn(2, 3, 96, 64)
    model.train()
    sum(o.sum() for o in compiled(x)).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        for a, b in zip(model(x), compiled(x)):
            torch.testing.assert_close(a, b)


def test_channels_last_memory_changes_no_output(tiny_arch):
    fast = HIRIViT(arch=tiny_arch).eval()
    plain = HIRIViT(arch=tiny_arch, channels_last=False).eval()
    plain.load_state_dict(fast.state_dict())
    conv = fast.stem.conv.conv.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 70, 90)
    with torch.no_grad():
        # Outputs come back in the input's memory format.
        cl = fast(x.contiguous(memory_format=torch.channels_last))
        assert all(o.is_contiguous(memory_format=torch.channels_last)
                   for o in cl)
        for a, b, c in zip(fast(x), plain(x), cl):
            assert a.is_contiguous()
            torch.testing.assert_close(a, c)
            torch.testing.assert_close(a, b, rtol=1e-4,
                                       atol=1e-4 * b.abs().max())


def test_dense_activation_matches_the_plain_one_in_both_formats():
    act = DenseAct(nn.GELU())
    x = torch.randn(2, 5, 7, 3)
    cl = x.contiguous(memory_format=torch.channels_last)
    assert act(cl).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(act(cl), F.gelu(x))
    torch.testing.assert_close(act(x), F.gelu(x))


@pytest.mark.parametrize('fmt', [torch.contiguous_format,
                                 torch.channels_last])
def test_gelu_overwrites_its_input_only_without_autograd(fmt):
    act = build_act(dict(type='GELU'))
    x = torch.randn(2, 5, 7, 3).contiguous(memory_format=fmt)
    expected = F.gelu(x)
    kept = x.clone()
    out = act(x)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(x, kept)  # autograd needs the input
    with torch.no_grad():
        out = act(x)
    assert out.data_ptr() == x.data_ptr()
    assert out.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(x, expected)

    leaf = kept.clone().requires_grad_()
    act(leaf).sum().backward()
    reference = kept.clone().requires_grad_()
    F.gelu(reference).sum().backward()
    torch.testing.assert_close(leaf.grad, reference.grad)


def test_only_exact_gelu_runs_in_place():
    x = torch.randn(1, 4, 3, 3)
    for cfg in (dict(type='GELU_tanh'), dict(type='ReLU'),
                dict(type='SiLU')):
        act = build_act(cfg)
        with torch.no_grad():
            assert act(x).data_ptr() != x.data_ptr(), cfg


def _randomise_batchnorms(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def test_conv_bn_with_running_statistics_runs_as_one_conv():
    """ConvNormAct folds a BatchNorm on running statistics into its conv on
    the fly (one pass over the map): the same outputs as conv -> BN, and
    the same gradients for the conv and the BN's affine parameters (as under
    norm_eval while training)."""
    layer = ConvNormAct(8, 16, 3, norm_cfg=dict(type='BN'),
                        act_cfg=dict(type='GELU'))
    _randomise_batchnorms(layer)
    layer.bn.eval()
    x = torch.randn(2, 8, 11, 9, requires_grad=True)
    folded = layer(x)
    reference = layer.act(layer.bn(layer.conv(x)))
    torch.testing.assert_close(folded, reference, rtol=1e-5, atol=1e-5)
    params = [x, layer.conv.weight, layer.bn.weight, layer.bn.bias]
    grads = torch.autograd.grad(folded.square().sum(), params)
    expected = torch.autograd.grad(reference.square().sum(), params)
    for grad, want in zip(grads, expected):
        torch.testing.assert_close(grad, want, rtol=1e-4, atol=1e-4)
    # In training mode the BatchNorm normalises with the batch's statistics
    # (and updates its running ones): nothing is folded.
    layer.train()
    before = layer.bn.running_mean.clone()
    torch.testing.assert_close(
        layer(x), layer.act(F.batch_norm(
            layer.conv(x), None, None, layer.bn.weight, layer.bn.bias,
            training=True)), rtol=1e-5, atol=1e-5)
    assert not torch.equal(layer.bn.running_mean, before)
