# timm's hiri_vit_s trained with EMA distillation, Mixup / CutMix and label
# smoothing; where each value comes from: configs/classification/README.md,
# "Recipe" and "EMA".
model = dict(
    type='EMADistillClassifier',
    model_name='hiri_vit_s',
    num_classes=1000,
    drop_path_rate=0.2,
    # Decay (t-1)/t at step t: 0.9998 after 5k steps.
    ema_decay=0.9998,
    ema_warmup_power=1.,
    distill_weight=1.,
    distill_temperature=1.,
    data_preprocessor=dict(
        type='MixupDataPreprocessor',
        label_smoothing=0.1,
        mixup=dict(mixup_alpha=0.8, cutmix_alpha=1.0)))
