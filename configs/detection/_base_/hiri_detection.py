# What every HIRI-ViT detection config shares. Combined with an mmdet config
# as a second base, so it only defines names that mmdet's configs do not use;
# the detector configs pick the pieces they need through `_base_.<name>`.
custom_imports = dict(imports=['hiri_mm'], allow_failed_imports=False)
# Random states go into every checkpoint, so --resume continues exactly.
custom_hooks = [dict(type='RNGStateHook')]
# Crash-safe checkpoints (written to a temporary file, then renamed; old
# ones deleted only after the new one is complete). mmdet's runtime base
# already defines default_hooks, so each detector config sets
# `default_hooks = _base_.hiri_default_hooks`.
hiri_default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

# The backbone. HIRIViT.channels of arch 's' are (32, 64, 128, 320, 448) at
# strides (4, 8, 16, 32, 64); the tests check every neck and head against
# the backbone's own attributes. Drop-path is the arch's default (S 0.1,
# B 0.2, L 0.3). norm_eval keeps the BatchNorm statistics of the
# (ImageNet-pretrained) convolutional parts fixed, as mmdet does for ResNet:
# two images per GPU are too few to estimate them.
hiri_backbone = dict(
    _delete_=True,
    type='HIRIViT',
    arch='s',
    out_indices=(1, 2, 3, 4),
    norm_eval=True)

# Two-stage detectors (Mask R-CNN, Cascade): stages 2-5 (strides 8..64) feed
# the FPN, which adds a stride-128 level. At a 1600-pixel input these grids
# match a ResNet FPN at 800, so every head stride is doubled, images pad to a
# multiple of 128, and RoIs map to levels from a doubled finest scale
# (objects are twice as large). All five stages feed the neck's inputs, so
# no parameter goes unused.
hiri_two_stage_model = dict(
    data_preprocessor=dict(pad_size_divisor=128),
    backbone=hiri_backbone,
    neck=dict(in_channels=[64, 128, 320, 448]),
    rpn_head=dict(anchor_generator=dict(strides=[8, 16, 32, 64, 128])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            featmap_strides=[8, 16, 32, 64], finest_scale=112),
        mask_roi_extractor=dict(
            featmap_strides=[8, 16, 32, 64], finest_scale=112)))

# Dense single-stage detectors (RetinaNet, ATSS, GFL) use P3-P7 at twice the
# input: stages 3-5 (strides 16, 32, 64) feed the FPN, which adds two levels
# (128, 256); anchor strides doubled, padding to 128. Stage 2 runs but is no
# output; its parameters still get gradients through stages 3-5.
hiri_single_stage_model = dict(
    data_preprocessor=dict(pad_size_divisor=128),
    backbone=dict(hiri_backbone, out_indices=(2, 3, 4)),
    neck=dict(in_channels=[128, 320, 448], start_level=0),
    bbox_head=dict(anchor_generator=dict(strides=[16, 32, 64, 128, 256])))

# HIRI-ViT takes twice the usual input: 1x trains at (2666, 1600) instead of
# (1333, 800).
hiri_scale = (2666, 1600)

hiri_train_pipeline_1x = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=hiri_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# 3x: the multi-scale recipe of the comparisons the paper joins (Swin's
# 3x configs, from DETR / Sparse R-CNN): either a random short side, or a
# resize + random crop + random short side; every scale doubled. Short
# sides 960..1600 in steps of 64 (480..800 by 32), long side <= 2666; the
# crop branch resizes to 800/1000/1200 (400/500/600) and crops 768..1200
# (384..600).
hiri_ms_scales = [(2666, 960 + 64 * i) for i in range(11)]
hiri_train_pipeline_3x = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [
                dict(
                    type='RandomChoiceResize',
                    scales=hiri_ms_scales,
                    keep_ratio=True)
            ],
            [
                dict(
                    type='RandomChoiceResize',
                    scales=[(2666, 800), (2666, 1000), (2666, 1200)],
                    keep_ratio=True),
                dict(
                    type='RandomCrop',
                    crop_type='absolute_range',
                    crop_size=(768, 1200),
                    allow_negative_crop=True),
                dict(
                    type='RandomChoiceResize',
                    scales=hiri_ms_scales,
                    keep_ratio=True)
            ],
        ]),
    dict(type='PackDetInputs')
]
hiri_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=hiri_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
# Instance segmentation: the same pipelines, loading masks too.
hiri_mask_train_pipeline_1x = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t
    for t in hiri_train_pipeline_1x
]
hiri_mask_train_pipeline_3x = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t
    for t in hiri_train_pipeline_3x
]
hiri_mask_test_pipeline = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t
    for t in hiri_test_pipeline
]

# Test-time augmentation for the box detectors (RetinaNet, ATSS, GFL,
# Sparse R-CNN): mmdet's RetinaNet TTA scales (1333, 800), (666, 400) and
# (2000, 1200), doubled, each with and without a flip. mmdet's DetTTAModel
# merges boxes only, so the Mask R-CNN configs have no TTA.
hiri_tta_model = dict(
    type='DetTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
hiri_tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale=s, keep_ratio=True)
                for s in [(2666, 1600), (1333, 800), (4000, 2400)]
            ],
            [dict(type='RandomFlip', prob=1.),
             dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [
                dict(
                    type='PackDetInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape',
                               'img_shape', 'scale_factor', 'flip',
                               'flip_direction'))
            ],
        ])
]

# Optimiser. Paper: AdamW, total batch 16 (8 GPUs x 2 images); lr 1e-4 and
# weight decay 0.05 are Swin's detection values (the setting the paper
# compares with), no weight decay on norms, no gradient clipping (Swin's
# configs use none). auto_scale_lr rescales the lr for other batch sizes
# when enabled. Warm-up: mmdet's linear 500 (1x) / 1000 (3x) iterations
# from 0.001x.
hiri_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.))

# 3x: 36 epochs, lr steps at 27 and 33 (Swin's and mmdet's 3x).
hiri_train_cfg_3x = dict(max_epochs=36)
hiri_param_scheduler_3x = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=1000),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True,
         milestones=[27, 33], gamma=0.1)
]
