_base_ = [
    'mmdet::atss/atss_r50_fpn_1x_coco.py',
    './_base_/hiri_detection.py'
]

# HIRI-ViT-S, stages 3-5 into a P3-P7 FPN, anchor strides doubled: see
# hiri_single_stage_model in _base_/hiri_detection.py.
model = _base_.hiri_single_stage_model

# 3x: the multi-scale + crop recipe of Swin's 3x configs at doubled scales
# (short side 960..1600), 36 epochs.
train_dataloader = dict(dataset=dict(pipeline=_base_.hiri_train_pipeline_3x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_test_pipeline))
test_dataloader = val_dataloader

tta_model = _base_.hiri_tta_model
tta_pipeline = _base_.hiri_tta_pipeline

# AdamW lr 1e-4, weight decay 0.05, no clipping (Swin's detection values);
# 1000 warm-up iterations, steps at 27 and 33 of 36 epochs.
optim_wrapper = _base_.hiri_optim_wrapper
train_cfg = _base_.hiri_train_cfg_3x
param_scheduler = _base_.hiri_param_scheduler_3x
default_hooks = _base_.hiri_default_hooks
