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
