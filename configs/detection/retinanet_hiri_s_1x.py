_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    './_base_/hiri_detection.py'
]

# HIRI-ViT-S, stages 3-5 into a P3-P7 FPN, anchor strides doubled: see
# hiri_single_stage_model in _base_/hiri_detection.py.
model = _base_.hiri_single_stage_model

train_dataloader = dict(dataset=dict(pipeline=_base_.hiri_train_pipeline_1x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_test_pipeline))
test_dataloader = val_dataloader

# mmdet's RetinaNet config brings TTA at the usual scales: doubled here.
tta_model = _base_.hiri_tta_model
tta_pipeline = _base_.hiri_tta_pipeline

# AdamW lr 1e-4, weight decay 0.05, no clipping (Swin's detection values);
# mmdet's 1x: 500 warm-up iterations, steps at 8 and 11 of 12 epochs.
optim_wrapper = _base_.hiri_optim_wrapper
default_hooks = _base_.hiri_default_hooks
