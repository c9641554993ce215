# GFL with HIRI-ViT-S, 3x. Recipe: the authors' Wave-ViT / Dual-ViT
# gfl_*_s_fpn_3x_mstrain_fp16.py (YehLi/ImageNetModel), whose multi-scale
# crop caps the long side at 1200 (2400 here); README.md, "Recipes".
_base_ = [
    'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    './_base_/hiri_detection.py', './_base_/hiri_3x.py'
]

model = _base_.hiri_single_stage_model
train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_gfl_train_pipeline_3x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_test_pipeline))
test_dataloader = val_dataloader
tta_model = _base_.hiri_tta_model
tta_pipeline = _base_.hiri_tta_pipeline

optim_wrapper = _base_.hiri_optim_wrapper_3x
train_cfg = _base_.hiri_train_cfg_3x
param_scheduler = _base_.hiri_param_scheduler_3x
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
