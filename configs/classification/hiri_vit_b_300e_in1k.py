# HIRI-ViT-B: the S recipe (hiri_vit_s_300e_in1k.py) with drop-path 0.3 (ours).
_base_ = './hiri_vit_s_300e_in1k.py'

model = dict(model_name='hiri_vit_b', drop_path_rate=0.3)
