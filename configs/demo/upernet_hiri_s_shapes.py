# CPU demo: upernet_hiri_s_160k_ade20k.py on the generated shapes set in
# ADE20K's layout (hiri_mm.datasets.make_ade_shapes). Same backbone and
# stage-to-head wiring; 192-pixel images, 128 crops, narrower heads and a
# short schedule so that two CPU cores train it in minutes.
_base_ = '../segmentation/upernet_hiri_s_160k_ade20k.py'

data_root = 'data/shapes_ade'
# ADE20K's folder layout and label convention (0 ignored), other classes:
# mmseg's generic BaseSegDataset reads it.
metainfo = dict(
    classes=('background', 'circle', 'square', 'triangle'),
    palette=[[120, 120, 120], [220, 40, 40], [40, 200, 40], [30, 120, 220]])
crop_size = (128, 128)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(drop_path_rate=0.),
    decode_head=dict(channels=128, num_classes=4),
    auxiliary_head=dict(channels=64, num_classes=4))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(192, 192),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(192, 192), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.png',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(dataset, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 480
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# fp32: the demo runs on CPUs, where mmengine's AmpOptimWrapper does not
# build.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=30,
        end=max_iters,
        by_epoch=False)
]
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters // 2, max_keep_ckpts=2))

# Test-time augmentation (tools/test.py --tta) at the demo's scales: three
# sizes around 192, each also flipped; mmseg's SegTTAModel (its default
# runtime's tta_model) averages the predictions.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(s, s), keep_ratio=True)
             for s in (144, 192, 240)],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='LoadAnnotations')],  # the dataset's reduce_zero_label
            [dict(type='PackSegInputs')],
        ])
]
