_base_ = './upernet_hiri_s_160k_ade20k.py'

# The usual ADE20K protocol: 512x512 crops from images resized to
# (2048, 512), and mmseg's own test-time scales. Its FLOPs (at 512x2048)
# are the ones Swin-style ADE20K tables report; the stage 2..5 grids are
# half those of the 1024-crop config, as for a four-stage backbone at 256.
crop_size = (512, 512)
train_pipeline = [
    dict(t, scale=(2048, 512)) if t['type'] == 'RandomResize' else
    dict(t, crop_size=crop_size) if t['type'] == 'RandomCrop' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=(2048, 512)) if t['type'] == 'Resize' else t
    for t in _base_.test_pipeline
]
tta_pipeline = [
    dict(t, transforms=[[
        dict(r, scale_factor=r['scale_factor'] / 2) for r in t['transforms'][0]
    ], *t['transforms'][1:]]) if t['type'] == 'TestTimeAug' else t
    for t in _base_.tta_pipeline
]

model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
