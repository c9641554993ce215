from setuptools import find_packages, setup

setup(
    name='hiri_mm',
    version='0.1.0',
    description='HIRI-ViT backbones for MMDetection 3.x and MMSegmentation 1.x',
    packages=find_packages(include=['hiri_mm', 'hiri_mm.*']),
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.1', 'mmengine>=0.10,<0.11', 'mmcv>=2.0,<2.2', 'mmdet>=3.3,<3.4',
        'mmsegmentation>=1.2,<1.3', 'timm>=1.0',
    ],
)
