# Mask R-CNN with HIRI-ViT-S, 1x. Recipe: the authors' Wave-ViT / Dual-ViT
# mask_rcnn_*_s_fpn_1x_coco.py (YehLi/ImageNetModel); README.md, "Recipes".
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    './_base_/hiri_detection.py'
]

model = _base_.hiri_two_stage_model
train_dataloader = dict(
    dataset=dict(pipeline=_base_.hiri_mask_train_pipeline_1x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_mask_test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.,
    optimizer=dict(
        type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=1e-4))
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
