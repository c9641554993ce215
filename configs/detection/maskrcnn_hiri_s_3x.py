# Mask R-CNN with HIRI-ViT-S, 3x: the authors' 3x recipe (Dual-ViT's
# mask_rcnn_dualvit_s_fpn_3x_coco.py, YehLi/ImageNetModel), as for Cascade.
_base_ = ['./maskrcnn_hiri_s_1x.py', './_base_/hiri_3x.py']

train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_mask_train_pipeline_3x))
optim_wrapper = _base_.hiri_optim_wrapper_3x
train_cfg = _base_.hiri_train_cfg_3x
param_scheduler = _base_.hiri_param_scheduler_3x
