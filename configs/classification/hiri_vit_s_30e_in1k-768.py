# HIRI-ViT-S fine-tuned at 768x768 for 30 epochs (the paper's Table III)
# from the 448 pretraining: weights only (load_from, not resume), so the
# optimizer, schedule and epoch start afresh at the new resolution.
#   python tools/train.py configs/classification/hiri_vit_s_30e_in1k-768.py \
#       --amp \
#       --cfg-options load_from=work_dirs/hiri_vit_s_300e_in1k/epoch_300.pth
# HIRI-ViT has no position embedding, so every weight fits any resolution.
# The settings the paper leaves out are Swin's 384 fine-tuning (README.md,
# "Recipe").
_base_ = './hiri_vit_s_300e_in1k.py'

img_size = 768
load_from = 'work_dirs/hiri_vit_s_300e_in1k/epoch_300.pth'

train_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline=[
        dict(_base_.train_pipeline[0], input_size=img_size)]))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline=[
        dict(_base_.val_pipeline[0], input_size=img_size, crop_pct=1.0)]))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=4e-5, weight_decay=1e-8))

max_epochs = 30
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-2, by_epoch=True,
         begin=warmup_epochs, end=max_epochs,
         T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
