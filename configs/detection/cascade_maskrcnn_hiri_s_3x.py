_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
    './_base_/hiri_detection.py'
]

# HIRI-ViT-S, stages 2-5 into the FPN, head strides doubled: see
# hiri_two_stage_model in _base_/hiri_detection.py.
# Box heads as in Swin's Cascade Mask R-CNN 3x (the comparison the paper
# joins): each stage shares four 3x3 convs (SyncBN) and one fc, and regresses
# decoded boxes with a GIoU loss (weight 10).
cascade_box_head = dict(
    type='Shared4Conv1FCBBoxHead',
    in_channels=256,
    conv_out_channels=256,
    fc_out_channels=1024,
    roi_feat_size=7,
    num_classes=80,
    reg_class_agnostic=False,
    reg_decoded_bbox=True,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    loss_cls=dict(
        type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
cascade_target_stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                       [0.033, 0.033, 0.067, 0.067]]
model = dict(
    _base_.hiri_two_stage_model,
    roi_head=dict(
        _base_.hiri_two_stage_model.roi_head,
        bbox_head=[
            dict(
                cascade_box_head,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=stds)) for stds in cascade_target_stds
        ]))

# 3x: the multi-scale + crop recipe of Swin's 3x configs at doubled scales
# (short side 960..1600), 36 epochs.
train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_mask_train_pipeline_3x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_mask_test_pipeline))
test_dataloader = val_dataloader

# AdamW lr 1e-4, weight decay 0.05, no clipping; 1000 warm-up iterations;
# steps at 27 and 33 of 36 epochs (Swin's Cascade Mask R-CNN 3x): see
# hiri_optim_wrapper and hiri_param_scheduler_3x.
optim_wrapper = _base_.hiri_optim_wrapper
train_cfg = _base_.hiri_train_cfg_3x
param_scheduler = _base_.hiri_param_scheduler_3x
default_hooks = _base_.hiri_default_hooks
