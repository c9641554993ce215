from .synthetic import (SEG_CLASSES, SHAPE_CLASSES, make_ade_shapes,
                        make_coco_shapes, make_shape_classification)

__all__ = [
    'SHAPE_CLASSES', 'SEG_CLASSES', 'make_coco_shapes', 'make_ade_shapes',
    'make_shape_classification'
]
