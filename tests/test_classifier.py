"""The timm classifier: construction through timm, one final norm, and the
timm conventions that timm's scripts rely on (layer-wise lr decay groups,
gradient checkpointing, feature extraction and pruning)."""
import pytest
import timm
import torch
import torch.nn as nn
from timm.optim import param_groups_layer_decay

from hiri_mm import HIRIViT, HIRIViTClassifier


@pytest.fixture
def classifier(tiny_arch):
    return timm.create_model('hiri_vit_s', arch=tiny_arch, num_classes=5)


def test_timm_builds_every_size_around_the_same_backbone(tiny_arch):
    assert set(timm.list_models('hiri_vit_*')) == {
        'hiri_vit_s', 'hiri_vit_b', 'hiri_vit_l'}
    model = timm.create_model('hiri_vit_s', num_classes=7)
    assert isinstance(model, HIRIViTClassifier)
    assert isinstance(model.backbone, HIRIViT)
    assert model.pretrained_cfg['input_size'] == (3, 448, 448)
    assert model.backbone.drop_path_rate == HIRIViT.arch_zoo['s'][
        'drop_path_rate']
    model.eval()
    assert model(torch.randn(2, 3, 64, 96)).shape == (2, 7)
    model.reset_classifier(0)
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 448)


def test_logits_come_from_the_backbones_single_final_norm(classifier):
    classifier.eval()
    x = torch.randn(2, 3, 64, 64)
    assert classifier(x).shape == (2, 5)
    assert not [m for n, m in classifier.named_modules()
                if isinstance(m, nn.LayerNorm) and not n.startswith(
                    'backbone.')]
    with torch.no_grad():
        features = classifier.forward_features(x)
        raw = classifier.forward_intermediates(x, intermediates_only=True)
        torch.testing.assert_close(features, classifier.backbone.norm4(raw[-1]))
        pooled = classifier.forward_head(features, pre_logits=True)
        torch.testing.assert_close(pooled, features.mean((2, 3)))


def test_group_matcher_orders_layers_for_layer_wise_lr_decay(classifier):
    groups = param_groups_layer_decay(classifier, weight_decay=0.05,
                                      layer_decay=0.5)
    scale = {}
    for group in groups:
        for p in group['params']:
            scale[p] = group['lr_scale']
    named = dict(classifier.named_parameters())
    stem = scale[named['backbone.stem.conv.conv.weight']]
    first = scale[named['backbone.stages.0.blocks.0.high_res.conv.weight']]
    last = scale[named['backbone.stages.4.blocks.0.attn.q.weight']]
    head = scale[named['fc.weight']]
    assert stem < first < last < head == 1.


def test_set_grad_checkpointing_recomputes_blocks_with_equal_gradients(
        classifier):
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for enable in (False, True):
        classifier.zero_grad()
        classifier.set_grad_checkpointing(enable)
        assert all(s.grad_checkpointing == enable
                   for s in classifier.backbone.stages)
        classifier(x).sum().backward()
        grads.append([p.grad.clone() for p in classifier.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_features_only_returns_declared_channels_and_reductions(tiny_arch):
    model = timm.create_model('hiri_vit_s', arch=tiny_arch,
                              features_only=True, out_indices=(1, 2, 4))
    maps = model(torch.randn(1, 3, 128, 96))
    assert [m.shape[1] for m in maps] == model.feature_info.channels()
    assert [128 // m.shape[2] for m in maps] == \
        model.feature_info.reduction() == [8, 16, 64]


def test_prune_intermediate_layers_drops_later_stages_and_head(classifier):
    kept = classifier.prune_intermediate_layers(indices=(0, 1))
    assert kept == [0, 1]
    assert len(classifier.backbone.stages) == 2
    assert isinstance(classifier.fc, nn.Identity)
    maps = classifier.forward_intermediates(torch.randn(1, 3, 64, 64),
                                            intermediates_only=True)
    assert [m.shape[1] for m in maps] == [8, 16]


def test_stop_early_returns_the_stage_reached_without_the_final_norm():
    model = timm.create_model('hiri_vit_s').eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        final, maps = model.forward_intermediates(x, indices=[1],
                                                  stop_early=True)
        only = model.forward_intermediates(x, indices=[1], stop_early=True,
                                           intermediates_only=True)
    assert final.shape == maps[0].shape == (1, 64, 16, 16)
    # Stage 2 has no output norm in the classifier: the final features
    # are its raw map.
    torch.testing.assert_close(final, maps[0])
    torch.testing.assert_close(only[0], maps[0])


def test_intermediates_equal_the_full_pass_and_norm_applies_the_final_norm(
        classifier):
    classifier.eval()
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        final, maps = classifier.forward_intermediates(x)
        early = classifier.forward_intermediates(
            x, indices=(0, 2), stop_early=True, intermediates_only=True)
        normed = classifier.forward_intermediates(
            x, indices=2, norm=True, intermediates_only=True)
        features = classifier.forward_features(x)
    assert len(maps) == 5
    for a, b in zip(early, (maps[0], maps[2])):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(final, features)
    torch.testing.assert_close(final, classifier.backbone.norm4(maps[4]))
    # norm=True: the final norm on the last stage, the others raw.
    torch.testing.assert_close(normed[0], maps[3])
    torch.testing.assert_close(normed[1], final)


def test_every_feature_path_returns_contiguous_nchw_maps(tiny_arch):
    x = torch.randn(1, 3, 96, 64)
    classifier = timm.create_model('hiri_vit_s', arch=tiny_arch).eval()
    features_only = timm.create_model('hiri_vit_s', arch=tiny_arch,
                                      features_only=True).eval()
    backbone = HIRIViT(arch=tiny_arch).eval()
    with torch.no_grad():
        final, maps = classifier.forward_intermediates(x)
        paths = [[final, classifier.forward_features(x)], maps,
                 features_only(x), backbone(x),
                 backbone.forward_intermediates(x, intermediates_only=True)]
    for path in paths:
        assert path and all(m.dim() == 4 and m.is_contiguous() for m in path)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        maps = features_only(channels_last)
    assert all(m.is_contiguous(memory_format=torch.channels_last)
               for m in maps)


def test_only_nchw_output_is_offered(classifier):
    with pytest.raises(ValueError, match="output_fmt 'NHWC'"):
        classifier.forward_intermediates(torch.randn(1, 3, 64, 64),
                                         output_fmt='NHWC')
