from setuptools import find_packages, setup


def read_requirements():
    """Runtime requirements from requirements.txt, minus build-only and test-only lines."""
    skip = ('setuptools', 'wheel', 'ninja', 'pytest')
    with open('requirements.txt') as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line and not line.startswith(skip)]


version = {}
with open('scott_mm/version.py') as f:
    exec(f.read(), version)

setup(
    name='scott-mm',
    version=version['__version__'],
    description='SCOTT sparse convolutional tokenizer + MIM-JEPA for MMEngine/MMPretrain',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='BSD-2-Clause',
    packages=find_packages(include=['scott_mm', 'scott_mm.*']),
    include_package_data=True,
    package_data={'scott_mm': ['datasets/meta/*.txt']},
    python_requires='>=3.10',
    # MinkowskiEngine is required too, but has no wheel on PyPI: tools/install_minkowski.sh builds it.
    install_requires=read_requirements(),
)
