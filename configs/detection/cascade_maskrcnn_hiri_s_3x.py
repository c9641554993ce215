# Cascade Mask R-CNN with HIRI-ViT-S, 3x. Recipe: the authors' Wave-ViT /
# Dual-ViT cascade_mask_rcnn_*_s_fpn_3x_mstrain_fp16.py
# (YehLi/ImageNetModel); README.md, "Recipes".
_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
    './_base_/hiri_detection.py', './_base_/hiri_3x.py'
]

# The authors' box heads (as Swin's): per stage four shared 3x3 convs with
# SyncBN and one fc, regressing decoded boxes with a GIoU loss.
box_head = dict(
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
target_stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
               [0.033, 0.033, 0.067, 0.067]]
model = dict(
    _base_.hiri_two_stage_model,
    roi_head=dict(
        _base_.hiri_two_stage_model.roi_head,
        bbox_head=[
            dict(
                box_head,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=stds)) for stds in target_stds
        ]))
train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_mask_train_pipeline_3x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_mask_test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = _base_.hiri_optim_wrapper_3x
train_cfg = _base_.hiri_train_cfg_3x
param_scheduler = _base_.hiri_param_scheduler_3x
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
