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

optim_wrapper = _base_.hiri_optim_wrapper
default_hooks = _base_.hiri_default_hooks
