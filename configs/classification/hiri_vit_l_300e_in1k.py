# HIRI-ViT-L: the S recipe with drop-path 0.4 (ours) and gradient clipping
# at norm 1.0, as the authors did for their large models (README.md,
# "Recipe").
_base_ = './hiri_vit_s_300e_in1k.py'

model = dict(model_name='hiri_vit_l', drop_path_rate=0.4)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
