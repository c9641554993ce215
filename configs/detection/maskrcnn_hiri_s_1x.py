_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    './_base_/hiri_detection.py'
]

# HIRI-ViT-S, stages 2-5 into the FPN, head strides doubled: see
# hiri_two_stage_model in _base_/hiri_detection.py.
model = _base_.hiri_two_stage_model

train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_mask_train_pipeline_1x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_mask_test_pipeline))
test_dataloader = val_dataloader

# AdamW lr 1e-4, weight decay 0.05, no clipping (Swin's detection values);
# mmdet's 1x: 500 warm-up iterations, steps at 8 and 11 of 12 epochs.
optim_wrapper = _base_.hiri_optim_wrapper
default_hooks = _base_.hiri_default_hooks
