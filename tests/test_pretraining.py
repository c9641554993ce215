"""timm registration, EMA distillation, tools/pretrain.py and the
classification -> backbone checkpoint conversion."""
import json
import os.path as osp

import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.registry import MODELS

from hiri_mm import HIRIViT, HIRIViTClassifier
from hiri_mm.datasets import make_shape_classification
from hiri_mm.ema_distillation import EMADistillation, distillation_loss


def test_timm_builds_classifiers_around_the_backbone():
    assert set(timm.list_models('hiri_vit_*')) == {
        'hiri_vit_s', 'hiri_vit_b', 'hiri_vit_l'}
    model = timm.create_model('hiri_vit_s', num_classes=7)
    assert isinstance(model, HIRIViTClassifier)
    assert isinstance(model.backbone, HIRIViT)
    assert model.pretrained_cfg['input_size'] == (3, 448, 448)
    assert model(torch.randn(2, 3, 64, 96)).shape == (2, 7)
    model.reset_classifier(0)
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 448)


def test_timm_features_only_matches_backbone_attributes():
    model = timm.create_model('hiri_vit_s', features_only=True,
                              out_indices=(1, 2, 3, 4))
    backbone = HIRIViT('s')
    assert model.feature_info.channels() == list(backbone.out_channels)
    assert model.feature_info.reduction() == list(backbone.out_strides)
    feats = model(torch.randn(1, 3, 130, 97))
    assert [f.shape[1] for f in feats] == list(backbone.out_channels)
    assert [f.shape[2] for f in feats] == [17, 9, 5, 3]


def test_distillation_loss_is_zero_for_equal_logits_and_positive_else():
    logits = torch.randn(4, 5)
    assert distillation_loss(logits, logits).abs() < 1e-6
    student = torch.randn(4, 5, requires_grad=True)
    teacher = torch.randn(4, 5, requires_grad=True)
    loss = distillation_loss(student, teacher, temperature=2.)
    loss.backward()
    assert loss > 0 and student.grad is not None and teacher.grad is None


def test_teacher_follows_student_and_loss_includes_distillation(tiny_arch):
    student = timm.create_model('hiri_vit_s', arch=tiny_arch, num_classes=3)
    distiller = EMADistillation(student, torch.nn.CrossEntropyLoss(),
                                decay=0.5, weight=2.)
    optim = torch.optim.SGD(student.parameters(), lr=0.5)
    x, y = torch.randn(4, 3, 64, 64), torch.tensor([0, 1, 2, 0])
    for step in range(1, 4):
        losses = distiller(x, y)
        optim.zero_grad()
        losses['loss'].backward()
        optim.step()
        distiller.update_teacher(step)
    losses = distiller(x, y)
    torch.testing.assert_close(
        losses['loss'], losses['loss_cls'] + 2. * losses['loss_distill'])
    assert losses['loss_distill'] > 0
    differ = [not torch.equal(a, b) for a, b in zip(
        student.parameters(), distiller.teacher.module.parameters())]
    assert any(differ)
    assert all(not p.requires_grad
               for p in distiller.teacher.module.parameters())


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    from tests.helpers import TINY_ARCH
    from tools.pretrain import main
    data = str(tmp_path_factory.mktemp('imagefolder'))
    make_shape_classification(data, num_train=24, num_val=10, size=64)
    work_dir = str(tmp_path_factory.mktemp('pretrain'))
    common = [data, '--work-dir', work_dir, '--arch', json.dumps(TINY_ARCH),
              '--input-size', '64', '--batch-size', '12', '--lr-base', '1.0',
              '--warmup-epochs', '1', '--aa', 'none', '--mixup', '0',
              '--cutmix', '0', '--reprob', '0', '--workers', '0',
              '--ema-decay', '0.9', '--drop-path', '0', '--crop-scale-min', '0.5']
    torch.manual_seed(0)
    first = main(common + ['--epochs', '8'])
    resumed = main(common + ['--epochs', '10', '--resume'])
    return work_dir, first, resumed


def test_pretraining_with_ema_distillation_beats_chance(pretrained):
    work_dir, first, resumed = pretrained
    with open(osp.join(work_dir, 'log.jsonl')) as f:
        records = [json.loads(line) for line in f]
    assert all(r['loss_distill'] > 0 for r in records[1:])
    # Three classes: chance is 33%.
    assert max(resumed['val_top1'], resumed['val_top1_teacher']) >= 70


def test_resume_continues_epochs_and_steps(pretrained):
    work_dir, first, resumed = pretrained
    assert (first['epoch'], resumed['epoch']) == (8, 10)
    assert resumed['step'] == first['step'] * 10 // 8
    ckpt = torch.load(osp.join(work_dir, 'last.pth'), weights_only=True)
    assert ckpt['epoch'] == 10


def test_pretrain_checkpoint_converts_without_missing_keys(pretrained,
                                                           tmp_path,
                                                           tiny_arch):
    from tools.convert_checkpoint import main
    work_dir = pretrained[0]
    dst = str(tmp_path / 'backbone.pth')
    missing, unexpected = main([osp.join(work_dir, 'last.pth'), dst,
                                '--arch', json.dumps(tiny_arch),
                                '--teacher'])
    assert missing == [] and unexpected == []
    model = HIRIViT(tiny_arch, init_cfg=dict(type='Pretrained',
                                             checkpoint=dst))
    model.init_weights()
    teacher = torch.load(osp.join(work_dir, 'last.pth'),
                         weights_only=True)['teacher']
    torch.testing.assert_close(model.stem.conv.conv.weight,
                               teacher['backbone.stem.conv.conv.weight'])


def test_timm_state_dict_converts_into_a_detector(tmp_path):
    from tools.convert_checkpoint import main
    classifier = timm.create_model('hiri_vit_s', num_classes=10)
    src, dst = str(tmp_path / 'timm.pth'), str(tmp_path / 'backbone.pth')
    torch.save(classifier.state_dict(), src)
    missing, unexpected = main([src, dst, '--arch', 's'])
    assert missing == [] and unexpected == []
    cfg = Config.fromfile('configs/detection/maskrcnn_hiri_s_1x.py')
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=dst)
    init_default_scope('mmdet')
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    for key, value in detector.backbone.state_dict().items():
        torch.testing.assert_close(
            value, classifier.state_dict()[f'backbone.{key}'], msg=key)


def test_convert_rejects_a_checkpoint_without_backbone(tmp_path):
    from tools.convert_checkpoint import main
    src = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'layer.weight': torch.ones(1)}}, src)
    with pytest.raises(KeyError, match='backbone'):
        main([src, str(tmp_path / 'out.pth')])
