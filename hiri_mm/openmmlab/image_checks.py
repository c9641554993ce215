"""What the data checks read from image files and pipelines: each image
decoded once (a truncated file fails here, not mid-training), its size as
the pipeline's ``LoadImageFromFile`` will see it (EXIF orientation
included), the values of a segmentation label map, and the resize limits of
a pipeline, below which an image is degenerate."""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import (Any, Callable, Iterator, List, Optional, Sequence,
                    Tuple)

import numpy as np

from .config_checks import type_name

__all__ = ['MIN_IMAGE_SIDE', 'ImageInfo', 'applies_orientation',
           'read_image', 'read_images', 'read_label_map', 'resize_targets',
           'degenerate']

# Images with a side below this many pixels are reported as degenerate.
MIN_IMAGE_SIDE = 4
# The EXIF tag of the orientation, and its values that turn the picture
# by 90 degrees (the loaded width and height are the stored ones swapped).
EXIF_ORIENTATION = 0x0112
TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)
# mmcv's decoders that apply the EXIF orientation for these color types
# (cv2.IMREAD_COLOR / IMREAD_GRAYSCALE, and PIL's exif_transpose for the
# pillow backend); 'unchanged' and '*_ignore_orientation' keep the pixels as
# stored.
ORIENTING_BACKENDS = ('cv2', 'pillow')
ORIENTING_COLOR_TYPES = ('color', 'grayscale')


@dataclass
class ImageInfo:
    """What decoding an image file found.

    Args:
        size (tuple[int, int], optional): ``(width, height)`` as the pipeline
            loads it (EXIF orientation applied when the pipeline applies it);
            None with ``error`` set.
        orientation (int): The EXIF orientation tag, 1 without one.
        error (tuple[str, str], optional): ``(kind, detail)`` of a missing,
            zero-byte, unreadable or truncated file.
        values (np.ndarray, optional): The distinct pixel values (label maps
            only, see :func:`read_label_map`).
    """
    size: Optional[Tuple[int, int]] = None
    orientation: int = 1
    error: Optional[Tuple[str, str]] = None
    values: Optional[np.ndarray] = None


def applies_orientation(pipeline: Sequence[dict]) -> bool:
    """Whether the pipeline's ``LoadImageFromFile`` turns images by their
    EXIF orientation (mmcv's defaults, ``imdecode_backend='cv2'`` and
    ``color_type='color'``, do)."""
    for t in _transforms(pipeline):
        if type_name(t).endswith('LoadImageFromFile'):
            return (t.get('imdecode_backend', 'cv2') in ORIENTING_BACKENDS
                    and t.get('color_type', 'color') in ORIENTING_COLOR_TYPES)
    return True


def _file_error(path: str) -> Optional[Tuple[str, str]]:
    """A missing, empty or unreadable file, before decoding."""
    try:
        if os.stat(path).st_size == 0:
            return 'zero-byte file', ''
    except FileNotFoundError:
        return 'file not found', ''
    except OSError as e:
        return 'unreadable file', e.strerror
    return None


def _decode(path: str, read: Callable[[Any], ImageInfo]) -> ImageInfo:
    """Open ``path`` with PIL and apply ``read`` to it; a bad file becomes
    an :class:`ImageInfo` with ``error``."""
    from PIL import Image
    error = _file_error(path)
    if error:
        return ImageInfo(error=error)
    try:
        with Image.open(path) as img:
            return read(img)
    except Exception as e:  # PIL raises many types for bad files
        kind = 'truncated image' if 'truncated' in str(e) else \
            'unreadable image'
        return ImageInfo(error=(kind, f'{type(e).__name__}: {e}'))


def _orientation(img: Any, decoded: bool) -> int:
    """The EXIF orientation of an open PIL image (1 without one). Without
    decoding, a PNG's is read only from an eXIf chunk before the pixels
    (PIL would decode the file to look further)."""
    if img.format == 'PNG' and not decoded and 'exif' not in img.info:
        return 1
    return img.getexif().get(EXIF_ORIENTATION, 1)


def read_image(path: str, orient: bool = True,
               decode: bool = True) -> ImageInfo:
    """Decode an image file and report its size as the pipeline loads it.

    JPEG files are decoded at 1/8 scale (``draft``): the whole compressed
    stream is still read, so truncation is found, while the inverse DCT
    and colour conversion see 1/64 of the pixels (about half the time of a
    full decode for a photo-like 640x480 JPEG).

    Args:
        path (str): The image file.
        orient (bool): Swap width and height for an EXIF orientation that
            turns the picture (see :func:`applies_orientation`).
        decode (bool): Decode the pixels; False reads the header only
            (faster, misses truncated files).

    Returns:
        ImageInfo: ``size`` and ``orientation``, or ``error``.
    """
    def read(img: Any) -> ImageInfo:
        size = img.size
        if decode:
            img.draft('L', (size[0] // 8, size[1] // 8))
            img.load()
        orientation = _orientation(img, decode)
        if orient and orientation in TRANSPOSING_ORIENTATIONS:
            size = size[::-1]
        return ImageInfo(size=size, orientation=orientation)

    return _decode(path, read)


def read_label_map(path: str) -> ImageInfo:
    """Decode a segmentation label map the way mmseg's ``LoadAnnotations``
    does (pillow, unchanged: palette indices, no orientation) and report its
    size and distinct values; a map with colour channels is an error."""
    def read(img: Any) -> ImageInfo:
        pixels = np.asarray(img)
        if pixels.ndim != 2:
            return ImageInfo(error=('not a single-channel label map',
                                    f'mode {img.mode}, shape '
                                    f'{pixels.shape}'))
        return ImageInfo(size=img.size, values=np.unique(pixels))

    return _decode(path, read)


def read_images(paths: Sequence[str],
                read: Callable[[str], ImageInfo] = read_image
                ) -> List[ImageInfo]:
    """``read`` (default :func:`read_image`) of many files in threads: PIL
    decodes without the GIL, and threads overlap the file system's
    latency."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(read, paths, chunksize=64))


def _transforms(pipeline: Sequence[Any]) -> Iterator[dict]:
    """Every transform of a pipeline, including those nested in wrappers
    (RandomChoice, RandomApply, TestTimeAug: ``transforms=[...]``)."""
    for t in pipeline or []:
        if isinstance(t, (list, tuple)):
            yield from _transforms(t)
        elif isinstance(t, dict):
            yield t
            yield from _transforms(t.get('transforms') or [])


def resize_targets(pipeline: Sequence[dict]) -> List[Tuple[float, float]]:
    """``(long, short)`` edge limits of every keep-ratio resize a pipeline
    may apply (mmcv's Resize, RandomResize, RandomChoiceResize and their
    mmdet/mmseg subclasses, also inside RandomChoice & co.), the smallest
    of each RandomResize range. An image that rescales to a zero side at
    any of them cannot be loaded for training."""
    targets = []
    for t in _transforms(pipeline):
        name = type_name(t)
        if not name.endswith('Resize') or not t.get('keep_ratio', True):
            continue
        scales = t.get('scales') if name == 'RandomChoiceResize' else \
            t.get('scale')
        if not scales:
            continue
        if isinstance(scales[0], (int, float)):
            scales = [scales]
        ratio = min(t.get('ratio_range') or (1., ))
        if name == 'RandomResize':  # scale limits -> the smallest corner
            scales = [(min(max(s) for s in scales),
                       min(min(s) for s in scales))]
        for scale in scales:
            target = (max(scale) * ratio, min(scale) * ratio)
            if target not in targets:
                targets.append(target)
    return targets


def degenerate(size: Tuple[int, int],
               targets: Sequence[Tuple[float, float]]) -> Optional[str]:
    """Why an image of ``size`` (w, h) cannot be trained on (the detail of
    a ``'degenerate image'`` problem), or None."""
    from mmcv.image import rescale_size
    w, h = size
    if min(w, h) < MIN_IMAGE_SIDE:
        return f'{w}x{h} pixels, a side below {MIN_IMAGE_SIDE}'
    for target in targets:
        new_w, new_h = rescale_size((w, h), target)
        if min(new_w, new_h) < 1:
            return (f'{w}x{h} pixels: aspect ratio '
                    f'{max(w, h) / min(w, h):.0f}:1 rescales to '
                    f'{new_w}x{new_h} at the pipeline\'s scale '
                    f'{tuple(int(s) for s in target)}')
    return None
