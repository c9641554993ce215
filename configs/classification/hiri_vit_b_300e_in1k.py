# HIRI-ViT-B: the S recipe with drop-path 0.3 (ours; README.md, "Recipe").
_base_ = './hiri_vit_s_300e_in1k.py'

model = dict(model_name='hiri_vit_b', drop_path_rate=0.3)
