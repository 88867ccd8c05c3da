"""A non-editable install runs its demo: the wheel built from this checkout carries the schemas, templates,
migrations, the compiled Streebog extension and the demo's fixtures, and `gateway demo` works from elsewhere.

The wheel is built from a copy of the checkout's files (tracked or not ignored: no stale build/ folder, no
extension compiled in place) with this environment's pip and setuptools (no network); the fresh environment
sees this one's site-packages for the dependencies only (a ``.pth`` line), never the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_built_and_installed_gateway_runs_its_demo_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "GATEWAY_CONFIG"}}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    source = tmp_path / "source"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
                   check=True, env=env, timeout=600, capture_output=True)
    wheel = next((tmp_path / "dist").glob("dom_gateway-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("gateway/_demo_data/organisations.toml", "gateway/_demo_data/reference/egrn",
                   "gateway/xsd/extensions/compliance/hcs-compliance-types.xsd",
                   "gateway/reports/templates/compliance.html.j2", "gateway/reports/obligations.toml",
                   "gateway/registry/migrations/versions/0016_powers.py", "gateway/registry/migrations/script.py.mako",
                   "gateway/sync/sources/gar-xsd/SHA256SUMS", "gateway/signing/_streebog",
                   "dist-info/licenses/LICENSE"):
        assert any(needed in name for name in names), needed

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, env=env, timeout=600, capture_output=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    where = tmp_path / "elsewhere"
    where.mkdir()
    demo = subprocess.run([str(target / "bin" / "gateway"), "demo", "--workdir", str(where / "demo")], cwd=where,
                          env=env, timeout=600, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "== done in" in demo.stdout and (where / "demo" / "compliance-report.html").is_file()
    imported = subprocess.run([str(python), "-c", "import gateway.demo as d; print(d.__file__, d.FIXTURES)"],
                              cwd=where, env=env, check=True, capture_output=True, text=True).stdout
    assert str(ROOT) not in imported and str(site) in imported
    assert not any(name.endswith("soap/ns.py") for name in names)  # nothing stale
