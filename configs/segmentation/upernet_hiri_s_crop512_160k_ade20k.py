_base_ = './upernet_hiri_s_160k_ade20k.py'

# upernet_hiri_s_160k_ade20k.py with the usual ADE20K protocol: 512x512
# crops from images resized to (2048, 512) and mmseg's test-time scales
# (README.md, "Input scale").
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
