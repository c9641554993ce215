"""HIRIViT: arch parsing, shapes and strides, gradients, freezing, norm_eval,
checkpointing and deploy-mode folding."""
import math

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from hiri_mm import HIRIViT
from hiri_mm.models.backbones.hiri_vit import HRBlock


def _expected_shapes(model, h, w):
    return [(1, model.channels[i], math.ceil(h / model.strides[i]),
             math.ceil(w / model.strides[i])) for i in model.out_indices]


@pytest.mark.parametrize('arch', ['s', 'b', 'l'])
@pytest.mark.parametrize('hw', [(224, 224), (448, 448), (333, 517), (65, 97)])
def test_output_shapes_follow_declared_channels_and_strides(arch, hw):
    model = HIRIViT(arch=arch, out_indices=(0, 1, 2, 3, 4)).eval()
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
    assert HIRIViT('small').channels == HIRIViT('S').channels
    assert HIRIViT(arch=tiny_arch).channels == tiny_arch['channels']


def test_unknown_arch_lists_valid_ones():
    with pytest.raises(KeyError, match=r"'b'.*'l'.*'s'"):
        HIRIViT(arch='xl')


def test_custom_arch_with_wrong_keys_or_lengths(tiny_arch):
    with pytest.raises(KeyError, match='exactly the keys'):
        HIRIViT(arch=dict(channels=(8, 16, 16, 32, 32)))
    with pytest.raises(ValueError, match='needs 5 values'):
        HIRIViT(arch={**tiny_arch, 'depths': (1, 1, 1, 1)})


@pytest.mark.parametrize('kwargs, message', [
    (dict(out_indices=(1, 5)), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
    (dict(frozen_stages=-2), 'frozen_stages'),
    (dict(sr_ratios=(1, )), 'sr_ratios'),
])
def test_bad_arguments_raise(tiny_arch, kwargs, message):
    with pytest.raises(ValueError, match=message):
        HIRIViT(arch=tiny_arch, **kwargs)


def test_negative_out_index_counts_from_the_last_stage(tiny_arch):
    assert HIRIViT(arch=tiny_arch, out_indices=(-1, )).out_indices == (4, )


def test_wrong_input_channels_names_the_fix(tiny_arch):
    model = HIRIViT(arch=tiny_arch)
    with pytest.raises(ValueError, match='in_channels'):
        model(torch.randn(1, 4, 64, 64))
    grey = HIRIViT(arch=tiny_arch, in_channels=1)
    assert len(grey(torch.randn(1, 1, 64, 64))) == 4


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


@pytest.mark.parametrize('arch', ['s', 'tiny'])
def test_deploy_folds_every_batchnorm_and_keeps_outputs(arch, tiny_arch):
    model = HIRIViT(arch=tiny_arch if arch == 'tiny' else arch)
    model.init_weights()
    # Non-trivial statistics, so that folding has something to fold.
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(2, 3, 96, 80))
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    x = torch.randn(1, 3, 97, 83)
    with torch.no_grad():
        ref = model(x)
        model.switch_to_deploy()
        out = model(x)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    for a, b in zip(ref, out):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4 * a.abs().max())


def test_hr_block_crops_odd_sizes():
    block = HRBlock(8, 2., 0., dict(type='BN'), dict(type='GELU')).eval()
    assert block(torch.randn(1, 8, 7, 5)).shape == (1, 8, 7, 5)


def test_stages_after_the_last_output_are_skipped(tiny_arch):
    model = HIRIViT(arch=tiny_arch, out_indices=(0, 1))
    calls = []
    for i, stage in enumerate(model.stages):
        stage.register_forward_hook(lambda m, a, o, i=i: calls.append(i))
    outs = model(torch.randn(1, 3, 64, 64))
    assert calls == [0, 1] and len(outs) == 2
    # All five stages exist, so a full checkpoint still loads strictly.
    model.load_state_dict(HIRIViT(arch=tiny_arch).state_dict())
