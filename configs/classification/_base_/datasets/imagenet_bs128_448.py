# ImageNet-1k at 448x448, 128 images per GPU, DeiT's augmentation through
# timm. Data: data/imagenet/{train,val}/<class>/<image> (torchvision
# ImageFolder layout).
data_root = 'data/imagenet/'
img_size = 448

train_pipeline = [
    dict(type='TimmImageTransform', is_training=True, input_size=img_size,
         interpolation='bicubic', auto_augment='rand-m9-mstd0.5-inc1-mmax9',
         re_prob=0.25, re_mode='pixel', re_count=1)
]
val_pipeline = [
    dict(type='TimmImageTransform', is_training=False, input_size=img_size,
         interpolation='bicubic', crop_pct=0.875)
]

train_dataloader = dict(
    batch_size=128,  # per GPU; Mixup needs it even
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageFolderDataset',
        data_root=data_root,
        data_prefix=dict(img_path='train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageFolderDataset',
        data_root=data_root,
        data_prefix=dict(img_path='val'),
        classes_from='train',  # same class indices as training
        pipeline=val_pipeline))
test_dataloader = val_dataloader

# Student and EMA teacher, each on every rank's shard of the val set.
val_evaluator = [
    dict(type='TopKAccuracy', pred_key='student', prefix='student'),
    dict(type='TopKAccuracy', pred_key='teacher', prefix='teacher'),
]
test_evaluator = val_evaluator
