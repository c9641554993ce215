# HIRI-ViT-S: ImageNet-1k pretraining at 448x448 with EMA distillation; the
# paper's recipe with DeiT's settings where it names none (README.md,
# "Recipe").
#   python tools/train.py configs/classification/hiri_vit_s_300e_in1k.py --amp
#   bash tools/dist_train.sh \
#       configs/classification/hiri_vit_s_300e_in1k.py 8 --amp
_base_ = [
    './_base_/models/hiri_vit_ema_distill.py',
    './_base_/datasets/imagenet_bs128_448.py',
    './_base_/schedules/imagenet_bs1024_adamw_300e.py',
    './_base_/default_runtime.py'
]
