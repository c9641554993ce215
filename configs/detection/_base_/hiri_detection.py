# The pieces every HIRI-ViT detector shares, listed beside mmdet's config in
# each detector's `_base_`. mmengine refuses a key that two bases define, so
# the pieces carry `hiri_` names and each detector config picks the ones it
# needs (`model = _base_.hiri_two_stage_model`). Why each value: the
# sections of configs/detection/README.md named below.
_base_ = ['../../_base_/hiri_runtime.py']

# HIRIViT arch 's': channels (32, 64, 128, 320, 448) at strides 4..64;
# drop-path is the arch's default; norm_eval keeps the pretrained BatchNorm
# statistics ("Backbone").
hiri_backbone = dict(
    _delete_=True,
    type='HIRIViT',
    arch='s',
    out_indices=(1, 2, 3, 4),
    norm_eval=True)

# Mask R-CNN, Cascade: stages 2-5 (strides 8..64) into the FPN (+ stride
# 128), every head stride doubled ("Strides").
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
# twice the input ("Strides").
hiri_single_stage_model = dict(
    data_preprocessor=dict(pad_size_divisor=128),
    backbone=dict(hiri_backbone, out_indices=(2, 3, 4)),
    neck=dict(in_channels=[128, 320, 448], start_level=0),
    bbox_head=dict(anchor_generator=dict(strides=[16, 32, 64, 128, 256])))

# Every scale is twice mmdet's ("Input scales"); the 3x pieces are in
# hiri_3x.py.
hiri_scale = (2666, 1600)


def _train_pipeline(with_mask=False):
    """mmdet's 1x training pipeline at twice its scale."""
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='Resize', scale=hiri_scale, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs')
    ]


def _test_pipeline(with_mask=False):
    """mmdet's COCO test pipeline at twice its scale."""
    return [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=hiri_scale, keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor'))
    ]


hiri_train_pipeline_1x = _train_pipeline()
hiri_mask_train_pipeline_1x = _train_pipeline(with_mask=True)
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
