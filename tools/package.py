#!/usr/bin/env python3
"""Packages a built td-spotify library for one platform: the one packaging command.

    tools/package.py package --platform macos --lib target/universal/libtd_spotify.dylib --out dist
    tools/package.py checksums dist/*.zip > dist/SHA256SUMS.txt

`package` writes dist/td-spotify-<version>-<platform>.zip holding, in one folder of that name:
the plugin (windows: td_spotify.dll; macos: the td_spotify.plugin bundle with Contents/Info.plist
and Contents/MacOS/td_spotify; linux: libtd_spotify.so), the artists' guide (TouchDesigner/) and
the licence files. The version comes from Cargo.toml; --expect-version (the release tag) must
match it. On macOS, --sign IDENTITY signs the bundle (`-` = ad hoc) before it is zipped, and
--notarize submits it to Apple's notary service and staples the ticket (credentials from the
environment, see notarize()). The release workflow and tools/test_package.py both call this file,
so what is tested here is what ships. Python 3.11+, standard library only.
"""

import argparse
import hashlib
import os
import plistlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXECUTABLE = "td_spotify"
BUNDLE = f"{EXECUTABLE}.plugin"
BUNDLE_ID = "io.github.td-spotify.plugin"
# Oldest macOS the x86_64 slice targets (MACOSX_DEPLOYMENT_TARGET in the release workflow).
MIN_MACOS = "10.15"
PLATFORMS = {
    # platform: (file the build writes, name in the zip, zip suffix)
    "windows": ("td_spotify.dll", "td_spotify.dll", "windows-x64"),
    "macos": ("libtd_spotify.dylib", BUNDLE, "macos-universal"),
    "linux": ("libtd_spotify.so", "libtd_spotify.so", "linux-x64"),
}
LICENCES = ["LICENSE-MIT", "LICENSE-APACHE"]
GUIDE_DIR = ROOT / "TouchDesigner"


def cargo_version():
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["package"]["version"]


def info_plist(version):
    return {
        "CFBundleDevelopmentRegion": "en",
        "CFBundleExecutable": EXECUTABLE,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleInfoDictionaryVersion": "6.0",
        "CFBundleName": "td-spotify",
        "CFBundlePackageType": "BNDL",
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "CFBundleSupportedPlatforms": ["MacOSX"],
        "LSMinimumSystemVersion": MIN_MACOS,
        "NSHumanReadableCopyright": "td-spotify contributors, MIT OR Apache-2.0",
    }


def make_bundle(lib, dest, version):
    """dest/td_spotify.plugin: Contents/Info.plist and Contents/MacOS/td_spotify (the dylib)."""
    bundle = dest / BUNDLE
    macos = bundle / "Contents" / "MacOS"
    macos.mkdir(parents=True)
    shutil.copy2(lib, macos / EXECUTABLE)
    with open(bundle / "Contents" / "Info.plist", "wb") as f:
        plistlib.dump(info_plist(version), f)
    return bundle


def run(cmd):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def sign(bundle, identity):
    """Ad hoc (`-`) or Developer ID; a real identity also gets the hardened runtime and a secure
    timestamp, which notarization requires."""
    cmd = ["codesign", "--force", "--sign", identity]
    if identity != "-":
        cmd += ["--options", "runtime", "--timestamp"]
    run(cmd + [str(bundle)])
    run(["codesign", "--verify", "--strict", "--verbose=2", str(bundle)])


def notarize(bundle):
    """Submits the signed bundle and staples the ticket, so Gatekeeper accepts it offline.

    Credentials: APPLE_ID, APPLE_TEAM_ID and APPLE_APP_PASSWORD (an app-specific password)."""
    names = ("APPLE_ID", "APPLE_TEAM_ID", "APPLE_APP_PASSWORD")
    missing = [v for v in names if not os.environ.get(v)]
    if missing:
        sys.exit(f"package: --notarize needs {', '.join(missing)} in the environment")
    with tempfile.TemporaryDirectory() as tmp:
        upload = Path(tmp) / "notarize.zip"
        run(["ditto", "-c", "-k", "--keepParent", str(bundle), str(upload)])
        run(["xcrun", "notarytool", "submit", str(upload), "--wait",
             "--apple-id", os.environ["APPLE_ID"], "--team-id", os.environ["APPLE_TEAM_ID"],
             "--password", os.environ["APPLE_APP_PASSWORD"]])
    run(["xcrun", "stapler", "staple", str(bundle)])


def guide_files():
    """The artists' guide: every file of TouchDesigner/ (Markdown, pictures, the network script)."""
    return sorted(p for p in GUIDE_DIR.rglob("*") if p.is_file() and not p.name.startswith("."))


def write_zip(stage, top, zip_path):
    """Zips stage/top, keeping the executable bit (zipfile drops it unless told)."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted((stage / top).rglob("*")):
            arc = path.relative_to(stage).as_posix()
            if path.is_dir():
                continue
            info = zipfile.ZipInfo.from_file(path, arc)
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package(args):
    version = cargo_version()
    if args.expect_version and args.expect_version.removeprefix("v") != version:
        sys.exit(f"package: the tag says {args.expect_version}, Cargo.toml says {version}")
    lib = Path(args.lib)
    if not lib.is_file():
        sys.exit(f"package: {lib} is not a file (build it first: cargo build --release --lib)")
    _, inside, suffix = PLATFORMS[args.platform]
    if (args.sign or args.notarize) and args.platform != "macos":
        sys.exit("package: --sign and --notarize are for --platform macos")
    top = f"td-spotify-{version}-{suffix}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        folder = stage / top
        folder.mkdir()
        if args.platform == "macos":
            bundle = make_bundle(lib, folder, version)
            if args.sign:
                sign(bundle, args.sign)
            if args.notarize:
                notarize(bundle)
        else:
            shutil.copy2(lib, folder / inside)
        for name in LICENCES:
            shutil.copy2(ROOT / name, folder / name)
        for path in guide_files():
            dest = folder / "guide" / path.relative_to(GUIDE_DIR)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        zip_path = out / f"{top}.zip"
        write_zip(stage, top, zip_path)
    print(zip_path)
    return 0


def checksums(args):
    """`sha256sum`'s format, so `sha256sum -c SHA256SUMS.txt` (or shasum -a 256 -c) checks it."""
    for name in args.files:
        print(f"{sha256(name)}  {Path(name).name}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("package", help="write the zip (and on macOS the .plugin bundle)")
    p.add_argument("--platform", required=True, choices=sorted(PLATFORMS))
    p.add_argument("--lib", required=True,
                   help="the built library (macOS: the dylib, lipo'd into a universal binary)")
    p.add_argument("--out", default="dist", help="folder for the zip (default: dist)")
    p.add_argument("--expect-version", help="fail unless Cargo.toml has this version (v prefix ok)")
    p.add_argument("--sign", metavar="IDENTITY", help="macOS: codesign the bundle; '-' = ad hoc")
    p.add_argument("--notarize", action="store_true", help="macOS: notarize and staple the bundle")
    p.set_defaults(func=package)
    c = sub.add_parser("checksums", help="print SHA-256 sums of the given files")
    c.add_argument("files", nargs="+")
    c.set_defaults(func=checksums)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
