_base_ = './maskrcnn_hiri_s_1x.py'

# 3x: multi-scale training (short side 960..1600), 36 epochs.
train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_mask_train_pipeline_3x))
train_cfg = _base_.hiri_train_cfg_3x
param_scheduler = _base_.hiri_param_scheduler_3x
