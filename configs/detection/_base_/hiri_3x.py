# The authors' 3x recipe for HIRI-ViT detectors, listed after
# hiri_detection.py in a 3x config's `_base_` (its own pieces, so that 1x
# configs do not carry them): AdamW lr 1e-4, weight decay 0.05 except on
# norms, fp16 with a loss scale of 512, mmdet's 500 warm-up iterations,
# steps at 27 and 33 of 36 epochs, and DETR's multi-scale + crop
# augmentation at twice its scales (configs/detection/README.md, "Recipes").
hiri_optim_wrapper_3x = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.,
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.))
hiri_train_cfg_3x = dict(max_epochs=36)
hiri_param_scheduler_3x = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True,
         milestones=[27, 33], gamma=0.1)
]


def _multi_scale_crop(long_side):
    """A short side of 960..1600, or a resize to a short side of 800..1200,
    a 768..1200 crop and again a short side of 960..1600."""
    scales = [(long_side, 960 + 64 * i) for i in range(11)]
    return dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=scales, keep_ratio=True)],
            [
                dict(
                    type='RandomChoiceResize',
                    scales=[(long_side, s) for s in (800, 1000, 1200)],
                    keep_ratio=True),
                dict(
                    type='RandomCrop',
                    crop_type='absolute_range',
                    crop_size=(768, 1200),
                    allow_negative_crop=True),
                dict(
                    type='RandomChoiceResize', scales=scales, keep_ratio=True)
            ],
        ])


def _train_pipeline(with_mask=False, long_side=2666):
    """Load an image and its boxes (and masks), flip, multi-scale crop,
    pack."""
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='RandomFlip', prob=0.5),
        _multi_scale_crop(long_side),
        dict(type='PackDetInputs')
    ]


hiri_train_pipeline_3x = _train_pipeline()
hiri_mask_train_pipeline_3x = _train_pipeline(with_mask=True)
# GFL's authors cap the long side at 1200 instead of 1333: 2400 here.
hiri_gfl_train_pipeline_3x = _train_pipeline(long_side=2400)
