# upernet_hiri_s_160k_ade20k.py with stage 4 attending in 14x14 windows (the
# grid it sees at the 448 pretraining size) and stage 5 global; README.md,
# "Windowed attention". Loads the same checkpoints as the global model.
_base_ = './upernet_hiri_s_160k_ade20k.py'

model = dict(backbone=dict(window_sizes=(14, None)))
