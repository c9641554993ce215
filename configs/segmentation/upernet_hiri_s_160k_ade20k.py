# UPerNet with HIRI-ViT-S on ADE20K, 160k iterations. Recipe: the paper's
# and the authors' Wave-ViT / Dual-ViT upernet_*_s_512x512_160k_ade20k.py
# (YehLi/ImageNetModel) at twice their crop; README.md, "Recipe".
_base_ = [
    'mmseg::_base_/models/upernet_r50.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py', '../_base_/hiri_runtime.py'
]

# 1024x1024 crops from images resized to (4096, 1024), twice mmseg's 512
# (README.md, "Input scale"; the crop512 variant keeps 512).
crop_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(4096, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(4096, 1024), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
# mmseg's ADE20K test-time augmentation rescales the original image by 0.5
# to 1.75 (flipped or not); doubled here.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=2 * r, keep_ratio=True)
                for r in [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]

# Stages 2-5 into the decode head, stage 4 into the auxiliary head; SyncBN
# as mmseg's multi-GPU convention (README.md, "Wiring").
model = dict(
    data_preprocessor=dict(size=crop_size),
    # mmseg's ResNet base names an ImageNet checkpoint here; HIRI-ViT weights
    # go in backbone.init_cfg instead (see tools/convert_checkpoint.py).
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='HIRIViT',
        arch='s',
        out_indices=(1, 2, 3, 4),
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(
        in_channels=[64, 128, 320, 448], in_index=[0, 1, 2, 3],
        num_classes=150),
    auxiliary_head=dict(in_channels=320, in_index=2, num_classes=150))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.,
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False)
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
