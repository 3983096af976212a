#!/usr/bin/env python3
"""Tests of tools/package.py: run from .ci/run (and the Windows/macOS CI jobs).

The library cargo builds on this machine stands in for every platform's binary (on Linux, the .so
plays the Windows .dll and the macOS dylib): what is checked is the packaging, not the binary.
Set TD_SPOTIFY_LIB to skip the cargo build and use a given file.
"""

import json
import os
import plistlib
import subprocess
import sys
import tempfile
import tomllib
import unittest
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import package  # noqa: E402


def built_library():
    if os.environ.get("TD_SPOTIFY_LIB"):
        return Path(os.environ["TD_SPOTIFY_LIB"])
    out = subprocess.run(
        ["cargo", "build", "--release", "--lib", "--message-format=json", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "td_spotify":
            for name in msg["filenames"]:
                if Path(name).suffix in (".so", ".dylib", ".dll"):
                    return Path(name)
    raise AssertionError("cargo built no td_spotify cdylib")


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lib = built_library()
        cls.lib_bytes = cls.lib.read_bytes()
        with open(ROOT / "Cargo.toml", "rb") as f:
            cls.version = tomllib.load(f)["package"]["version"]
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = Path(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_package(self, platform, *extra):
        cmd = [sys.executable, str(ROOT / "tools/package.py"), "package", "--platform", platform,
               "--lib", str(self.lib), "--out", str(self.out), *extra]
        return subprocess.run(cmd, capture_output=True, text=True)

    def package(self, platform, suffix):
        run = self.run_package(platform, "--expect-version", f"v{self.version}")
        self.assertEqual(run.returncode, 0, run.stderr)
        top = f"td-spotify-{self.version}-{suffix}"
        zip_path = self.out / f"{top}.zip"
        self.assertEqual(run.stdout.strip(), str(zip_path))
        z = zipfile.ZipFile(zip_path)
        self.addCleanup(z.close)
        self.assertIsNone(z.testzip())
        names = z.namelist()
        self.assertTrue(all(n.startswith(top + "/") for n in names), names)
        for common in ["LICENSE-MIT", "LICENSE-APACHE", "guide/README.md", "guide/login.md"]:
            self.assertIn(f"{top}/{common}", names)
        self.assertEqual(z.read(f"{top}/guide/README.md"),
                         (ROOT / "TouchDesigner/README.md").read_bytes())
        return z, top, names

    def test_windows_zip_holds_the_dll_guide_and_licences(self):
        z, top, names = self.package("windows", "windows-x64")
        self.assertEqual(z.read(f"{top}/td_spotify.dll"), self.lib_bytes)
        self.assertEqual([n for n in names if n.endswith((".dll", ".so", ".dylib"))],
                         [f"{top}/td_spotify.dll"])

    def test_macos_zip_holds_a_loadable_bundle(self):
        z, top, names = self.package("macos", "macos-universal")
        contents = f"{top}/td_spotify.plugin/Contents"
        plist = plistlib.loads(z.read(f"{contents}/Info.plist"))
        self.assertEqual(plist["CFBundlePackageType"], "BNDL")
        self.assertEqual(plist["CFBundleShortVersionString"], self.version)
        self.assertEqual(plist["CFBundleVersion"], self.version)
        self.assertRegex(plist["CFBundleIdentifier"], r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
        # The executable Info.plist names is really there, is the library, and is executable.
        exe = f"{contents}/MacOS/{plist['CFBundleExecutable']}"
        self.assertIn(exe, names)
        self.assertEqual(z.read(exe), self.lib_bytes)
        self.assertTrue((z.getinfo(exe).external_attr >> 16) & 0o111 or os.name == "nt")
        bundle_files = sorted(n for n in names if "/td_spotify.plugin/" in n)
        self.assertEqual(bundle_files, sorted([f"{contents}/Info.plist", exe]))

    def test_linux_zip_holds_the_shared_object(self):
        z, top, _ = self.package("linux", "linux-x64")
        self.assertEqual(z.read(f"{top}/libtd_spotify.so"), self.lib_bytes)

    def test_a_tag_that_is_not_the_cargo_version_is_refused(self):
        run = self.run_package("windows", "--expect-version", "v999.0.0")
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("Cargo.toml says", run.stderr)

    def test_signing_is_only_for_macos(self):
        run = self.run_package("windows", "--sign", "-")
        self.assertNotEqual(run.returncode, 0)

    def test_a_missing_library_is_a_clear_error(self):
        run = subprocess.run([sys.executable, str(ROOT / "tools/package.py"), "package",
                              "--platform", "linux", "--lib", str(self.out / "nope.so"),
                              "--out", str(self.out)], capture_output=True, text=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("cargo build --release --lib", run.stderr)

    def test_checksums_match_sha256sum_format(self):
        self.package("linux", "linux-x64")
        zip_path = self.out / f"td-spotify-{self.version}-linux-x64.zip"
        run = subprocess.run([sys.executable, str(ROOT / "tools/package.py"), "checksums",
                              str(zip_path)], capture_output=True, text=True, check=True)
        digest, name = run.stdout.split()
        self.assertEqual(name, zip_path.name)
        self.assertEqual(digest, package.sha256(zip_path))
        self.assertEqual(len(digest), 64)


if __name__ == "__main__":
    unittest.main(verbosity=2)
