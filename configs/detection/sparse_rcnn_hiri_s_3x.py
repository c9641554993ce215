_base_ = [
    'mmdet::sparse_rcnn/'
    'sparse-rcnn_r50_fpn_300-proposals_crop-ms-480-800-3x_coco.py',
    './_base_/hiri_detection.py'
]

# Sparse R-CNN's four-level FPN without extra levels: stages 2-5 (strides 8,
# 16, 32, 64) in, RoI strides doubled, padding to 64.
model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=_base_.hiri_backbone,
    neck=dict(in_channels=[64, 128, 320, 448]),
    roi_head=dict(
        bbox_roi_extractor=dict(
            featmap_strides=[8, 16, 32, 64], finest_scale=112)))

# Sparse R-CNN's own crop recipe (mmdet's crop-ms-480-800), every scale
# doubled: the same pipeline as the other 3x configs.
train_dataloader = dict(dataset=dict(pipeline=_base_.hiri_train_pipeline_3x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_test_pipeline))
test_dataloader = val_dataloader
tta_model = _base_.hiri_tta_model
tta_pipeline = _base_.hiri_tta_pipeline

# mmdet's Sparse R-CNN optimiser and schedule are kept (they are its
# authors'): AdamW lr 2.5e-5, weight decay 1e-4, gradients clipped at norm
# 1; 500 warm-up iterations, steps at 27 and 33 of 36 epochs.
default_hooks = _base_.hiri_default_hooks
