"""Maps the top-level folders to the ``comptoir.*`` import names.

``kernel/`` imports as ``comptoir.kernel``, ``sdk/`` as ``comptoir.sdk`` and so on;
``comptoir`` itself is a namespace, so no top-level ``kernel`` or ``sdk`` import exists.
setuptools' ``package-dir`` works for editable installs and wheels alike; computing the
sub-packages here keeps pyproject.toml free of a list that would rot.
"""
from __future__ import annotations

from setuptools import find_packages, setup

FOLDERS = ("kernel", "marketplace", "sdk", "sandbox")

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder in FOLDERS:
    top = f"comptoir.{folder}"
    packages.append(top)
    package_dir[top] = folder
    for sub in find_packages(folder):
        packages.append(f"{top}.{sub}")
        package_dir[f"{top}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(
    packages=packages,
    package_dir=package_dir,
    include_package_data=True,
    package_data={
        "comptoir.kernel": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py",
                            "web/templates/**/*", "web/static/**/*"],
        "comptoir.marketplace": ["templates/**/*", "static/**/*"],
        "comptoir.sdk": ["templates/**/*"],
    },
)
