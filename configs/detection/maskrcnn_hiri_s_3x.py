_base_ = './maskrcnn_hiri_s_1x.py'

# 3x: the multi-scale + crop recipe of Swin's Mask R-CNN 3x at doubled
# scales (short side 960..1600), 36 epochs, 1000 warm-up iterations, steps
# at 27 and 33; AdamW as in 1x.
train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_mask_train_pipeline_3x))
train_cfg = _base_.hiri_train_cfg_3x
param_scheduler = _base_.hiri_param_scheduler_3x
