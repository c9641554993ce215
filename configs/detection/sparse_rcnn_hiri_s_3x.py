_base_ = [
    'mmdet::sparse_rcnn/'
    'sparse-rcnn_r50_fpn_300-proposals_crop-ms-480-800-3x_coco.py',
    './_base_/hiri_detection.py'
]

# Sparse R-CNN's four-level FPN without extra levels: stages 2-5 (strides 8,
# 16, 32, 64) in, RoI strides doubled, padding to 64. mmdet's own
# AdamW/36-epoch schedule for Sparse R-CNN is kept.
model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=_base_.hiri_backbone,
    neck=dict(in_channels=[64, 128, 320, 448]),
    roi_head=dict(
        bbox_roi_extractor=dict(
            featmap_strides=[8, 16, 32, 64], finest_scale=112)))

# mmdet's DETR-style crop recipe with every scale doubled.
hiri_short_sides = [960 + 64 * i for i in range(11)]  # 960..1600
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(
                type='RandomChoiceResize',
                scales=[(s, 2666) for s in hiri_short_sides],
                keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(800, 2666), (1000, 2666), (1200, 2666)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(768, 1200),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=[(s, 2666) for s in hiri_short_sides],
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_test_pipeline))
test_dataloader = val_dataloader
default_hooks = _base_.hiri_default_hooks
