# What every hiri_mm config adds to its toolbox's runtime: detection,
# segmentation, classification and demo configs all inherit this file.
# It sits beside an mmdet or mmseg config in `_base_`, and mmengine refuses a
# key that two bases define, so it holds only keys that their runtimes leave
# unset; the crash-safe checkpoint hook is set by each config family's root
# (see configs/README.md, "Shared runtime").
custom_imports = dict(imports=['hiri_mm'], allow_failed_imports=False)
# Random states go into every checkpoint, so --resume continues exactly.
custom_hooks = [dict(type='RNGStateHook')]
