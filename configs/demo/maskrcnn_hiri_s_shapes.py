# CPU demo: maskrcnn_hiri_s_1x.py on the generated shapes set
# (hiri_mm.datasets.make_coco_shapes). Same backbone, strides and padding;
# 192-pixel images instead of 1600, three classes, a short schedule.
_base_ = '../detection/maskrcnn_hiri_s_1x.py'

data_root = 'data/shapes_coco/'
metainfo = dict(classes=('circle', 'square', 'triangle'))
scale = (192, 192)

# Lighter RoI heads than COCO needs, so that two CPU cores train in minutes:
# fewer sampled RoIs and proposals, narrower box and mask heads.
model = dict(
    # Trained from scratch here: BatchNorm statistics must be learnt.
    backbone=dict(norm_eval=False, drop_path_rate=0.),
    roi_head=dict(
        bbox_head=dict(num_classes=3, fc_out_channels=256),
        mask_head=dict(num_classes=3, conv_out_channels=128)),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=300), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(max_per_img=300)))

# The 1x pipelines with the demo's scale.
train_pipeline = [
    dict(t, scale=scale) if t['type'] == 'Resize' else t
    for t in _base_.hiri_mask_train_pipeline_1x
]
test_pipeline = [
    dict(t, scale=scale) if t['type'] == 'Resize' else t
    for t in _base_.hiri_mask_test_pipeline
]
loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
dataset = dict(data_root=data_root, metainfo=metainfo)
train_dataloader = dict(
    **loader,
    dataset=dict(
        **dataset,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    **loader,
    dataset=dict(
        **dataset,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, eta_min=1e-5)
]
# fp32: the demo runs on CPUs, where mmengine's AmpOptimWrapper does not
# build.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.))
auto_scale_lr = dict(enable=False, base_batch_size=4)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=4, max_keep_ckpts=2))

# Test-time augmentation (tools/test.py --tta) at the demo's scales: three
# sizes around 192, each also flipped; mmdet's DetTTAModel merges the boxes.
# It merges boxes only, so a Mask R-CNN is tested with --tta as a box
# detector (README, "Tools").
tta_model = dict(
    type='DetTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(s, s), keep_ratio=True)
             for s in (160, 192, 224)],
            [dict(type='RandomFlip', prob=1.),
             dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor', 'flip', 'flip_direction'))],
        ])
]
