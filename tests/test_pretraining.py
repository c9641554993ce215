"""ImageNet-style pretraining with EMA distillation on mmengine's Runner
(configs/classification/), the timm classifiers, and the conversion of a
classification checkpoint into a detection backbone."""
import glob
import json
import os
import os.path as osp

import pytest
import timm
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DATASETS, MODELS, TRANSFORMS, init_default_scope
from mmengine.runner.checkpoint import save_checkpoint
from PIL import Image
from timm.data.auto_augment import RandAugment

from hiri_mm import HIRIViT
from hiri_mm.datasets import make_shape_classification
from hiri_mm.ema_distillation import EMADistillation, distillation_loss
from hiri_mm.openmmlab.classification import TopKAccuracy
from tests.helpers import TINY_ARCH, config_copy

CONFIGS = 'configs/classification'
PRETRAIN = f'{CONFIGS}/hiri_vit_s_300e_in1k.py'
FINETUNE = f'{CONFIGS}/hiri_vit_s_30e_in1k-768.py'
STUDENT = 'distiller.student.'
TEACHER = 'distiller.teacher.module.'
# The tiny runs: 3 classes x 24 training images, batch 12 -> 6 iterations
# per epoch; 8 epochs (1 of warm-up), 5 before the resume.
EPOCHS, ITERS, PAUSE = 8, 6, 5


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """These tiny models run faster on one thread than on two busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
        sum(losses.values()).backward()
        optim.step()
        distiller.update_teacher(step)
    losses = distiller(x, y)
    torch.testing.assert_close(losses['loss_distill'], 2. * distillation_loss(
        student(x), distiller.teacher.module(x)))
    assert losses['loss_distill'] > 0
    differ = [not torch.equal(a, b) for a, b in zip(
        student.parameters(), distiller.teacher.module.parameters())]
    assert any(differ)
    assert all(not p.requires_grad
               for p in distiller.teacher.module.parameters())


def test_ema_decay_reaches_nominal_within_the_configured_steps():
    cfg = config_copy(PRETRAIN)
    init_default_scope('mmengine')
    teacher = MODELS.build(dict(cfg.model, num_classes=3, model_kwargs=dict(
        arch=TINY_ARCH))).distiller.teacher
    nominal = cfg.model.ema_decay
    # Paper: 1.28M images, batch 1024 -> 1251 steps per epoch.
    steps_per_epoch = 1281167 // 1024
    assert teacher.get_decay(1) == 0  # the first update copies the student
    assert teacher.get_decay(4999) < nominal
    assert teacher.get_decay(5000) == pytest.approx(nominal)
    assert teacher.get_decay(5 * steps_per_epoch) == nominal
    assert teacher.get_decay(300 * steps_per_epoch) == nominal


def test_mixup_preprocessor_makes_soft_targets_only_in_training():
    init_default_scope('mmengine')
    pre = MODELS.build(dict(type='MixupDataPreprocessor', num_classes=3,
                            label_smoothing=0.1,
                            mixup=dict(mixup_alpha=0.8, cutmix_alpha=1.0)))
    inputs = torch.randn(4, 3, 8, 8)
    labels = torch.tensor([0, 1, 2, 0])
    out = pre(dict(inputs=inputs.clone(), data_samples=labels), True)
    assert out['data_samples'].shape == (4, 3)
    torch.testing.assert_close(out['data_samples'].sum(1), torch.ones(4))
    assert out['data_samples'].min() >= 0.1 / 3 - 1e-6  # smoothing floor
    assert not torch.equal(out['inputs'], inputs)  # mixed
    out = pre(dict(inputs=inputs, data_samples=labels), False)
    assert torch.equal(out['data_samples'], labels)
    assert torch.equal(out['inputs'], inputs)

    plain = MODELS.build(dict(type='MixupDataPreprocessor', num_classes=3,
                              label_smoothing=0.1))
    targets = plain(dict(inputs=inputs, data_samples=labels),
                    True)['data_samples']
    low = 0.1 / 3
    torch.testing.assert_close(targets[1],
                               torch.tensor([low, 0.9 + low, low]))
    with pytest.raises(ValueError, match='Class index 3.*num_classes=3'):
        plain(dict(inputs=inputs, data_samples=torch.tensor([0, 1, 2, 3])))
    with pytest.raises(ValueError, match='even batch size'):
        pre(dict(inputs=inputs[:3], data_samples=labels[:3]), True)


def test_topk_accuracy_scores_each_model_under_its_prefix():
    evaluator = Evaluator([
        dict(type='TopKAccuracy', pred_key='student', prefix='student',
             topk=(1, 2)),
        dict(type='TopKAccuracy', pred_key='teacher', prefix='teacher',
             topk=(1, 2))])
    good = torch.tensor([0.1, 0.7, 0.2])  # class 1 first, class 2 second
    samples = [dict(gt_label=torch.tensor(1), student=good, teacher=good),
               dict(gt_label=torch.tensor(2), student=good, teacher=good),
               dict(gt_label=torch.tensor(0), student=good,
                    teacher=torch.tensor([0.9, 0.05, 0.05]))]
    evaluator.process(samples)
    results = evaluator.evaluate(3)
    assert results['student/top1'] == pytest.approx(100 / 3)
    assert results['student/top2'] == pytest.approx(200 / 3)
    assert results['teacher/top1'] == pytest.approx(200 / 3)
    assert results['teacher/top2'] == pytest.approx(100)
    with pytest.raises(KeyError, match='pred_key'):
        TopKAccuracy(pred_key='ema').process({}, samples)


def test_validation_split_uses_the_training_class_indices(tmp_path):
    for split, classes in (('train', 'abc'), ('val', 'ac')):
        for name in classes:
            (tmp_path / split / name).mkdir(parents=True)
            Image.new('RGB', (8, 8)).save(tmp_path / split / name / '0.png')
    val = DATASETS.build(dict(
        type='ImageFolderDataset', data_root=str(tmp_path),
        data_prefix=dict(img_path='val'), classes_from='train'))
    assert val.metainfo['classes'] == ('a', 'b', 'c')
    assert sorted(val[i]['gt_label'] for i in range(len(val))) == [0, 2]
    (tmp_path / 'val' / 'd').mkdir()
    Image.new('RGB', (8, 8)).save(tmp_path / 'val' / 'd' / '0.png')
    with pytest.raises(ValueError, match="class folders that .*train lacks: "
                       r"\['d'\]"):
        DATASETS.build(dict(
            type='ImageFolderDataset', data_root=str(tmp_path),
            data_prefix=dict(img_path='val'), classes_from='train'))


def test_randaugment_policy_is_safe_at_its_largest_magnitude():
    """timm's increasing posterize keeps 0 bits at magnitude 10, which this
    Pillow refuses; the configs cap the magnitude at 9 (1 bit)."""
    step = config_copy(PRETRAIN).train_pipeline[0]
    transform = TRANSFORMS.build(dict(step, input_size=32))
    randaug = [t for t in transform.transform.transforms
               if isinstance(t, RandAugment)]
    assert len(randaug) == 1
    image = Image.new('RGB', (32, 32), (120, 60, 200))
    for op in randaug[0].ops:
        op.prob, op.magnitude, op.magnitude_std = 1., 10., 0.
        op(image)  # clipped to the policy's upper bound


def test_configs_follow_the_recipe():
    cfgs = {size: config_copy(f'{CONFIGS}/hiri_vit_{size}_300e_in1k.py')
            for size in 'sbl'}
    for size, cfg in cfgs.items():
        assert cfg.model.model_name == f'hiri_vit_{size}'
        assert cfg.optim_wrapper.optimizer.lr == 1e-3
        assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=1024)
        assert cfg.train_cfg.max_epochs == 300
        assert cfg.train_dataloader.dataset.pipeline[0].re_mode == 'pixel'
        assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
        assert [h.type for h in cfg.custom_hooks] == ['EMATeacherHook',
                                                      'RNGStateHook']
    # Ours: ImageNet drop-path one step above the dense-prediction default.
    assert [cfgs[s].model.drop_path_rate for s in 'sbl'] == [0.2, 0.3, 0.4]
    assert [HIRIViT.arch_zoo[s]['drop_path_rate'] for s in 'sbl'] == [
        0.1, 0.2, 0.3]
    assert 'clip_grad' not in cfgs['s'].optim_wrapper
    assert cfgs['l'].optim_wrapper.clip_grad == dict(max_norm=1.0)

    ft = config_copy(FINETUNE)
    assert ft.load_from and not ft.resume
    assert ft.train_cfg.max_epochs == 30
    assert ft.optim_wrapper.optimizer.lr == 4e-5
    assert ft.optim_wrapper.optimizer.weight_decay == 1e-8
    assert ft.train_dataloader.dataset.pipeline[0].input_size == 768
    assert ft.val_dataloader.dataset.pipeline[0].input_size == 768
    assert ft.param_scheduler[-1].end == 30


def test_pretraining_model_builds_from_the_config():
    init_default_scope('mmengine')
    model = MODELS.build(config_copy(PRETRAIN).model)
    assert model.distiller.student.backbone.drop_path_rate == 0.2
    assert model.data_preprocessor.num_classes == 1000
    with pytest.raises(ValueError, match='set only model.num_classes'):
        MODELS.build(dict(type='EMADistillClassifier',
                          model_name='hiri_vit_s', num_classes=3,
                          data_preprocessor=dict(num_classes=5)))


# ---------------------------------------------------------------------------
# Training through tools/train.py (mmengine's Runner), AMP off, on CPU.

def _tiny_config(path: str, base: str, data_root: str, size: int,
                 **extra: str) -> str:
    """Write a config that shrinks ``base`` to the tiny arch, ``size``
    pixels and the generated 3-class set, keeping its augmentation."""
    lines = [
        f'_base_ = {osp.abspath(base)!r}',
        f'data_root = {data_root!r}',
        'model = dict(num_classes=3, drop_path_rate=0., ema_decay=0.9,',
        f'             model_kwargs=dict(arch={TINY_ARCH!r}))',
        'train_dataloader = dict(',
        '    batch_size=12, num_workers=0, persistent_workers=False,',
        '    pin_memory=False, dataset=dict(data_root=data_root, pipeline=[',
        f'        dict(_base_.train_pipeline[0], input_size={size},',
        '             scale=(0.5, 1.0))]))',
        'val_dataloader = dict(',
        '    batch_size=10, num_workers=0, persistent_workers=False,',
        '    pin_memory=False, dataset=dict(data_root=data_root, pipeline=[',
        f'        dict(_base_.val_pipeline[0], input_size={size},',
        '             crop_pct=1.0)]))',
        'test_dataloader = val_dataloader',
        f'train_cfg = dict(max_epochs={EPOCHS}, val_interval={EPOCHS})',
        'default_hooks = dict(logger=dict(interval=3),',
        '                     checkpoint=dict(max_keep_ckpts=-1))',
        'env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo"))',
        'randomness = dict(seed=0, deterministic=True)',
        *(f'{key} = {value}' for key, value in extra.items()),
    ]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def _train(config: str, work_dir: str, *args: str) -> dict:
    """Run tools/train.py; return the last checkpoint and the logged
    scalars of this run."""
    from tools.train import main
    main([config, '--work-dir', work_dir, *args])
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = torch.load(f.read().strip(), weights_only=True)
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    with open(logs[-1]) as f:
        scalars = [json.loads(line) for line in f]
    return dict(ckpt=ckpt, scalars=scalars)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Tiny pretraining: uninterrupted, and stopped after 5 epochs then
    resumed; then a fine-tuning run at another resolution from the
    uninterrupted run's weights."""
    tmp = tmp_path_factory.mktemp('pretraining')
    data = str(tmp / 'data')
    make_shape_classification(data, num_train=24, num_val=10, size=64)
    pretrain = dict(
        optim_wrapper='dict(optimizer=dict(lr=1.0))',
        param_scheduler=(
            "[dict(type='LinearLR', start_factor=1e-3, by_epoch=True, "
            "begin=0, end=1, convert_to_iter_based=True), "
            "dict(type='CosineAnnealingLR', eta_min_ratio=1e-2, "
            f"by_epoch=True, begin=1, end={EPOCHS}, T_max={EPOCHS - 1}, "
            "convert_to_iter_based=True)]"))
    runs = {}
    for name in ('full', 'part'):
        config = _tiny_config(str(tmp / f'{name}.py'), PRETRAIN, data, 64,
                              **pretrain)
        stop = [] if name == 'full' else [
            '--cfg-options', f'train_cfg.max_epochs={PAUSE}']
        runs[name] = _train(config, str(tmp / name), *stop)
    runs['resumed'] = _train(str(tmp / 'part.py'), str(tmp / 'part'),
                             '--resume')
    config = _tiny_config(
        str(tmp / 'finetune.py'), FINETUNE, data, 80,
        load_from=repr(str(tmp / 'full' / f'epoch_{EPOCHS}.pth')),
        train_cfg='dict(max_epochs=1, val_interval=1)')
    runs['finetune'] = _train(config, str(tmp / 'finetune'))
    return runs


def _last(scalars, key):
    return [s[key] for s in scalars if key in s][-1]


@pytest.mark.slow
def test_pretraining_learns_with_ema_distillation(runs):
    scalars = runs['full']['scalars']
    assert all(s['loss_distill'] > 0 for s in scalars if 'loss' in s
               and s['step'] > ITERS)
    # Three classes: chance is 33%.
    assert _last(scalars, 'student/top1') >= 70
    assert _last(scalars, 'teacher/top1') >= 70


@pytest.mark.slow
def test_resume_continues_the_epoch_optimizer_and_teacher(runs):
    full, resumed = runs['full'], runs['resumed']
    first = next(s for s in resumed['scalars'] if 'loss' in s)
    assert first['epoch'] == PAUSE + 1 and first['step'] > PAUSE * ITERS
    assert resumed['ckpt']['meta']['epoch'] == EPOCHS
    assert resumed['ckpt']['meta']['iter'] == EPOCHS * ITERS
    # Exactly the uninterrupted run: optimizer moments, learning-rate
    # schedule, EMA teacher and random states were all restored.
    states = full['ckpt']['state_dict'], resumed['ckpt']['state_dict']
    assert any(k.startswith(TEACHER) for k in states[0])
    for key, value in states[0].items():
        torch.testing.assert_close(states[1][key], value, rtol=0, atol=0,
                                   msg=key)
    moments = [c['ckpt']['optimizer']['state'] for c in (full, resumed)]
    for key, value in moments[0].items():
        torch.testing.assert_close(moments[1][key]['exp_avg'],
                                   value['exp_avg'], rtol=0, atol=0)
    assert _last(resumed['scalars'], 'teacher/top1') == \
        _last(full['scalars'], 'teacher/top1')


@pytest.mark.slow
def test_finetuning_starts_from_the_weights_only(runs):
    pretrained = runs['full']['ckpt']
    finetune = runs['finetune']['ckpt']
    # A new run: epoch, iteration and optimizer start from zero ...
    assert finetune['meta']['epoch'] == 1
    assert finetune['meta']['iter'] == ITERS
    steps = {float(s['step']) for s in finetune['optimizer']['state'].values()}
    assert steps == {ITERS}
    # ... from the pretrained weights (the fine-tuning lr barely moves them;
    # a fresh initialisation differs by orders of magnitude more).
    before, after = pretrained['state_dict'], finetune['state_dict']
    fresh = timm.create_model('hiri_vit_s', num_classes=3,
                              arch=TINY_ARCH).state_dict()
    key = 'backbone.stages.3.blocks.0.attn.q.weight'
    assert (before[STUDENT + key] - fresh[key]).abs().max() > 1e-2
    for key, value in after.items():
        if key.startswith(STUDENT) and value.is_floating_point() and \
                'running_' not in key:
            torch.testing.assert_close(value, before[key], rtol=0, atol=1e-4,
                                       msg=key)
    # ... at 80 pixels instead of 64, where it still classifies.
    assert _last(runs['finetune']['scalars'], 'student/top1') >= 70


@pytest.mark.slow
def test_runner_checkpoint_converts_teacher_and_student(runs, tmp_path):
    from tools.convert_checkpoint import main
    src = str(tmp_path / 'run.pth')
    torch.save(runs['full']['ckpt'], src)
    state = runs['full']['ckpt']['state_dict']
    for flag, prefix in (([], STUDENT), (['--teacher'], TEACHER)):
        dst = str(tmp_path / 'backbone.pth')
        main([src, dst, '--arch', json.dumps(TINY_ARCH), *flag])
        converted = torch.load(dst, weights_only=True)['state_dict']
        for key, value in converted.items():
            assert torch.equal(value, state[f'{prefix}backbone.{key}']), key


# ---------------------------------------------------------------------------
# Conversion into a detector.

def test_conversion_that_fails_mid_write_keeps_the_earlier_file(
        tmp_path, monkeypatch):
    """The converter writes through the atomic backend: a failure while
    writing (here fsync) leaves the previous DST whole and no partial."""
    from tools.convert_checkpoint import main
    src, dst = str(tmp_path / 'timm.pth'), tmp_path / 'backbone.pth'
    state = {f'backbone.{k}': v for k, v in
             HIRIViT(TINY_ARCH).state_dict().items()}
    torch.save(state, src)
    dst.write_bytes(b'earlier conversion')

    def crash(fd):
        raise OSError('disk went away')
    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='disk went away'):
        main([src, str(dst), '--arch', json.dumps(TINY_ARCH),
              '--prefix', 'backbone.'])
    assert dst.read_bytes() == b'earlier conversion'
    assert sorted(os.listdir(tmp_path)) == ['backbone.pth', 'timm.pth']
    monkeypatch.undo()
    main([src, str(dst), '--arch', json.dumps(TINY_ARCH), '--prefix',
          'backbone.'])
    assert torch.load(dst, weights_only=True)['state_dict'].keys() == \
        HIRIViT(TINY_ARCH).state_dict().keys()


def test_converted_teacher_loads_into_the_maskrcnn_backbone(tmp_path):
    from mmdet.registry import MODELS as MMDET_MODELS
    from tools.convert_checkpoint import main
    init_default_scope('mmengine')
    model = MODELS.build(config_copy(PRETRAIN).model)
    with torch.no_grad():  # a teacher that differs from the student
        for p in model.distiller.teacher.parameters():
            p.add_(torch.randn_like(p))
    src, dst = str(tmp_path / 'epoch_300.pth'), str(tmp_path / 'bb.pth')
    save_checkpoint(dict(meta=dict(epoch=300),
                         state_dict=model.state_dict()), src)
    missing, unexpected = main([src, dst, '--arch', 's', '--teacher'])
    assert unexpected == []
    # Classification trains only the last stage's output norm.
    assert sorted({k.split('.')[0] for k in missing}) == [
        'norm1', 'norm2', 'norm3']

    cfg = config_copy('configs/detection/maskrcnn_hiri_s_1x.py')
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=dst)
    init_default_scope('mmdet')
    detector = MMDET_MODELS.build(cfg.model)
    detector.init_weights()
    teacher = model.distiller.teacher.module.backbone.state_dict()
    for key, value in detector.backbone.state_dict().items():
        if key.split('.')[0] not in ('norm1', 'norm2', 'norm3'):
            torch.testing.assert_close(value, teacher[key], msg=key)


def test_timm_state_dict_converts_with_the_backbone_prefix(tmp_path):
    from tools.convert_checkpoint import main
    classifier = timm.create_model('hiri_vit_s', num_classes=3,
                                   arch=TINY_ARCH)
    src, dst = str(tmp_path / 'timm.pth'), str(tmp_path / 'backbone.pth')
    torch.save(classifier.state_dict(), src)
    main([src, dst, '--arch', json.dumps(TINY_ARCH), '--prefix', 'backbone.'])
    converted = torch.load(dst, weights_only=True)['state_dict']
    assert converted.keys() == classifier.backbone.state_dict().keys()
    with pytest.raises(SystemExit, match="do not fit HIRIViT arch 's'"):
        main([src, dst, '--arch', 's', '--prefix', 'backbone.'])


def test_convert_rejects_a_checkpoint_without_backbone(tmp_path):
    from tools.convert_checkpoint import main
    src = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'layer.weight': torch.ones(1)}}, src)
    with pytest.raises(SystemExit, match='no weights under'):
        main([src, str(tmp_path / 'out.pth')])


def test_convert_names_the_prefix_of_a_detector_checkpoint(tmp_path):
    """Without --prefix a detector checkpoint once ended in a raw KeyError
    traceback; the message now names the prefix its backbone is under."""
    from tools.convert_checkpoint import main
    backbone = HIRIViT(TINY_ARCH)
    src = str(tmp_path / 'detector.pth')
    torch.save({'state_dict': {
        **{f'backbone.{k}': v for k, v in backbone.state_dict().items()},
        'neck.conv.weight': torch.ones(1)}}, src)
    dst = str(tmp_path / 'out.pth')
    with pytest.raises(SystemExit,
                       match="under 'backbone.': pass --prefix backbone."):
        main([src, dst, '--arch', json.dumps(TINY_ARCH)])
    assert not osp.exists(dst)
    main([src, dst, '--arch', json.dumps(TINY_ARCH), '--prefix', 'backbone.'])
    assert torch.load(dst, weights_only=True)['state_dict'].keys() == \
        backbone.state_dict().keys()

