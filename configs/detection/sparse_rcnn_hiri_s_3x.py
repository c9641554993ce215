# Sparse R-CNN with HIRI-ViT-S, 3x. Recipe: the authors' Wave-ViT
# sparse_rcnn_wavevit_s_fpn_300_proposals_crop_mstrain_480-800_3x_coco.py
# (YehLi/ImageNetModel): one image per GPU, lr 2.5e-5 / 1.25, weight decay
# 1e-4, gradients clipped at norm 1, fp16; README.md, "Recipes".
_base_ = [
    'mmdet::sparse_rcnn/'
    'sparse-rcnn_r50_fpn_300-proposals_crop-ms-480-800-3x_coco.py',
    './_base_/hiri_detection.py', './_base_/hiri_3x.py'
]

# A four-level FPN without extra levels: stages 2-5 in, padding to 64.
model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=_base_.hiri_backbone,
    neck=dict(in_channels=[64, 128, 320, 448]),
    roi_head=dict(
        bbox_roi_extractor=dict(
            featmap_strides=[8, 16, 32, 64], finest_scale=112)))
train_dataloader = dict(
    batch_size=1, dataset=dict(pipeline=_base_.hiri_train_pipeline_3x))
val_dataloader = dict(dataset=dict(pipeline=_base_.hiri_test_pipeline))
test_dataloader = val_dataloader
tta_model = _base_.hiri_tta_model
tta_pipeline = _base_.hiri_tta_pipeline

# mmdet's clipping (norm 1) and 3x schedule are the authors'.
optim_wrapper = dict(
    type='AmpOptimWrapper', loss_scale=512., optimizer=dict(lr=2e-5))
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
