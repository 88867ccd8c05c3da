"""Only the native part of the build, and the demo's fixtures copied into the package, live here; everything
else is declared in setup.cfg."""

import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

#: what ``gateway demo`` reads from fixtures/, copied into gateway/_demo_data/ of a built (non-editable) package
DEMO_DATA = ("organisations.toml", "contracts", "houses", "nsi", "oss", "requests", "reference/egrn", "reference/gar",
             "reference/licences")


class BuildWithDemoData(build_py):
    def run(self) -> None:
        super().run()
        source, target = Path(__file__).resolve().parent / "fixtures", Path(self.build_lib) / "gateway" / "_demo_data"
        if self.editable_mode or not source.is_dir():  # an editable install reads fixtures/ in place
            return
        for name in DEMO_DATA:
            if (source / name).is_dir():
                shutil.copytree(source / name, target / name, dirs_exist_ok=True)
            else:
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / name, target / name)


setup(
    cmdclass={"build_py": BuildWithDemoData},
    ext_modules=[
        Extension(
            "gateway.signing._streebog",
            sources=["gateway/signing/_streebog.c"],
            depends=["gateway/signing/_streebog_tables.h"],
            extra_compile_args=["-O3", "-std=c99", "-Wall", "-Wextra"],
        )
    ],
)
