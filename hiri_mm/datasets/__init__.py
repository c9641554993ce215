"""Small generated data sets (COCO and ADE20K layouts, image folders) for
the demo and the tests; see :mod:`hiri_mm.datasets.synthetic`."""
from .synthetic import (MANIFEST, SEG_CLASSES, SHAPE_CLASSES, make_ade_shapes,
                        make_coco_shapes, make_shape_classification,
                        read_manifest)

__all__ = [
    'SHAPE_CLASSES', 'SEG_CLASSES', 'MANIFEST', 'make_coco_shapes',
    'make_ade_shapes', 'make_shape_classification', 'read_manifest'
]
