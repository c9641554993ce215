# The paper's ImageNet schedule: AdamW lr 1e-3 at total batch 1024, weight
# decay 0.05 (none on norms and biases), 5 linear warm-up epochs, then
# cosine decay to lr x 1e-2 over 300 epochs.
optim_wrapper = dict(
    type='OptimWrapper',  # tools/train.py --amp: AmpOptimWrapper
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(flat_decay_mult=0.))
# Other total batch sizes scale the lr linearly.
auto_scale_lr = dict(enable=True, base_batch_size=1024)

max_epochs = 300
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-2, by_epoch=True,
         begin=warmup_epochs, end=max_epochs,
         T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
