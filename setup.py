"""Only the native part of the build lives here; everything else is declared in setup.cfg."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gateway.signing._streebog",
            sources=["gateway/signing/_streebog.c"],
            depends=["gateway/signing/_streebog_tables.h"],
            extra_compile_args=["-O3", "-std=c99", "-Wall", "-Wextra"],
        )
    ]
)
