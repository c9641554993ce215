# The pieces every HIRI-ViT detector shares, listed beside mmdet's config in
# each detector's `_base_`. mmengine refuses a key that two bases define, so
# the pieces carry `hiri_` names and each detector config picks the ones it
# needs (`model = _base_.hiri_two_stage_model`). Why each value: README.md.
_base_ = ['../../_base_/hiri_runtime.py']

# HIRIViT arch 's': channels (32, 64, 128, 320, 448) at strides 4..64;
# drop-path is the arch's default; norm_eval keeps the pretrained BatchNorm
# statistics (README: "Backbone").
hiri_backbone = dict(
    _delete_=True,
    type='HIRIViT',
    arch='s',
    out_indices=(1, 2, 3, 4),
    norm_eval=True)

# Mask R-CNN, Cascade: stages 2-5 (strides 8..64) into the FPN (+ stride
# 128), every head stride doubled (README: "Strides").
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

# RetinaNet, ATSS, GFL: stages 3-5 (strides 16..64) into a P3-P7 FPN at
# twice the input (README: "Strides").
hiri_single_stage_model = dict(
    data_preprocessor=dict(pad_size_divisor=128),
    backbone=dict(hiri_backbone, out_indices=(2, 3, 4)),
    neck=dict(in_channels=[128, 320, 448], start_level=0),
    bbox_head=dict(anchor_generator=dict(strides=[16, 32, 64, 128, 256])))

# Every scale is twice mmdet's (README: "Input scales").
hiri_scale = (2666, 1600)


def _augment_1x():
    """mmdet's 1x augmentation at twice its scale."""
    return [
        dict(type='Resize', scale=hiri_scale, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5)
    ]


def _augment_3x(long_side=2666):
    """The authors' 3x augmentation, from DETR, at twice its scales: a flip,
    then short sides 960..1600, or a resize to 800..1200, a 768..1200 crop
    and again a short side of 960..1600."""
    scales = [(long_side, 960 + 64 * i) for i in range(11)]
    multi_scale_crop = dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=scales, keep_ratio=True)],
            [
                dict(
                    type='RandomChoiceResize',
                    scales=[(long_side, s) for s in (800, 1000, 1200)],
                    keep_ratio=True),
                dict(
                    type='RandomCrop',
                    crop_type='absolute_range',
                    crop_size=(768, 1200),
                    allow_negative_crop=True),
                dict(
                    type='RandomChoiceResize', scales=scales, keep_ratio=True)
            ],
        ])
    return [dict(type='RandomFlip', prob=0.5), multi_scale_crop]


def _train_pipeline(augmentation, with_mask=False):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        *augmentation,
        dict(type='PackDetInputs')
    ]


def _test_pipeline(with_mask=False):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=hiri_scale, keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor'))
    ]


hiri_train_pipeline_1x = _train_pipeline(_augment_1x())
hiri_mask_train_pipeline_1x = _train_pipeline(_augment_1x(), with_mask=True)
hiri_train_pipeline_3x = _train_pipeline(_augment_3x())
hiri_mask_train_pipeline_3x = _train_pipeline(_augment_3x(), with_mask=True)
# GFL's authors cap the long side at 1200 instead of 1333: 2400 here.
hiri_gfl_train_pipeline_3x = _train_pipeline(_augment_3x(long_side=2400))
hiri_test_pipeline = _test_pipeline()
hiri_mask_test_pipeline = _test_pipeline(with_mask=True)

# Box detectors' test-time augmentation: mmdet's RetinaNet TTA scales,
# doubled, each with and without a flip (DetTTAModel merges boxes only).
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

# The authors' 3x recipe (Cascade Mask R-CNN, ATSS, GFL; Dual-ViT's Mask
# R-CNN 3x): AdamW lr 1e-4, weight decay 0.05 except on norms, fp16 with a
# loss scale of 512; mmdet's 500 warm-up iterations, steps at 27 and 33 of
# 36 epochs (README: "Recipes").
hiri_optim_wrapper_3x = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.,
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.))
hiri_train_cfg_3x = dict(max_epochs=36)
hiri_param_scheduler_3x = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True,
         milestones=[27, 33], gamma=0.1)
]
