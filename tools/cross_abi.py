#!/usr/bin/env python3
"""Cross-ABI check of the C++ shim (cpp/) for the platforms TouchDesigner runs on.

Debian's clang compiles every file of cpp/ for Windows (MSVC ABI) and both macOS architectures
with -Werror, and dumps the virtual tables it lays out (-fdump-vtable-layouts). Each
TouchDesigner class the shim implements or calls must have exactly the slots of the facts sheet
(/work/shared/td-abi.md, transcribed in SLOTS below), in the same order: on MSVC the virtual
destructor takes one slot ("scalar deleting"), on Itanium (macOS) two ("complete", "deleting").

Only a few C library functions are needed, so tools/abi_stubs declares them: no Windows SDK or
macOS SDK is needed, and nothing is linked. When the facts sheet itself is at hand
($TD_ABI_SHEET, or ../shared/td-abi.md beside the repository), SLOTS is also compared with its
CHOP and DAT tables, so a transcription error cannot hide.

Usage: tools/cross_abi.py   (environment: CLANGXX, default clang++)
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["x86_64-pc-windows-msvc", "arm64-apple-macos11", "x86_64-apple-macos10.15"]
# Placeholders (reserved or deprecated virtuals) may have any name; only their position counts.
ANY = "*"


def reserved(n):
    return [ANY] * n


# Virtual methods in declaration order; "~" is the virtual destructor. From the facts sheet §3.
SLOTS = {
    "CHOP_CPlusPlusBase": ["~", "getGeneralInfo", "getOutputInfo", "getChannelName", "execute",
                           "getNumInfoCHOPChans", "getInfoCHOPChan", "getInfoDATSize",
                           "getInfoDATEntries", "getWarningString", "getErrorString",
                           "getInfoPopupString", "setupParameters", "pulsePressed",
                           "buildDynamicMenu", "saveData", "loadData", "inputConnectorLabel"]
    + reserved(12),
    "DAT_CPlusPlusBase": ["~", "getGeneralInfo", "execute", "getNumInfoCHOPChans",
                          "getInfoCHOPChan", "getInfoDATSize", "getInfoDATEntries",
                          "getWarningString", "getErrorString", "getInfoPopupString",
                          "setupParameters", "pulsePressed", "buildDynamicMenu"] + reserved(15),
    "DAT_Output": ["setOutputDataType", "getOutputDataType", "setTableSize", "getTableSize",
                   "setText", "findRow", "findCol", "setCellString", "setCellInt",
                   "setCellDouble", "getCellString", "getCellInt", "getCellDouble"],
    "OP_Inputs": ["getNumInputs", ANY, "getInputCHOP", "getParDAT", ANY, "getParCHOP",
                  "getParObject", "getParDouble", "getParDouble2", "getParDouble3",
                  "getParDouble4", "getParInt", "getParInt2", "getParInt3", "getParInt4",
                  "getParString", "getParFilePath", "getRelativeTransform", "enablePar",
                  "getDAT", ANY, "getCHOP", "getObject", ANY, "getParSOP", "getInputSOP",
                  "getSOP", "getInputDAT", "getParPython", "getTimeInfo", "getTOP",
                  "getInputTOP", "getParTOP"],
    "OP_ParameterManager": ["appendFloat", "appendInt", "appendXY", "appendXYZ", "appendUV",
                            "appendUVW", "appendRGB", "appendRGBA", "appendToggle",
                            "appendPulse", "appendString", "appendFile", "appendFolder",
                            "appendDAT", "appendCHOP", "appendTOP", "appendObject", "appendMenu",
                            "appendStringMenu", "appendSOP", "appendPython", "appendOP",
                            "appendCOMP", "appendMAT", "appendPanelCOMP", "appendHeader",
                            "appendMomentary", "appendWH", "appendDynamicStringMenu",
                            "appendDynamicMenu"],
    "OP_String": ["~", "setString"],
    "OP_BuildDynamicMenuInfo": ["addMenuEntry"],
    "OP_Context": ["~", "createArgumentsTuple", "callPythonCallback", "beginCUDAOperations",
                   "endCUDAOperations"] + reserved(15),
}
# The shim must implement or call at least these (a class it stops using may drop out).
REQUIRED = {"CHOP_CPlusPlusBase", "DAT_CPlusPlusBase", "DAT_Output", "OP_Inputs",
            "OP_ParameterManager", "OP_String"}

HEADER = re.compile(r"^VF?Table indices for 'TD::(\w+)' \((\d+) entries\)\.$")
ENTRY = re.compile(r"^\s+(\d+) \| (.*)$")


def expected(cls, msvc):
    out = []
    for name in SLOTS[cls]:
        if name == "~":
            kinds = ["scalar deleting"] if msvc else ["complete", "deleting"]
            out += [f"~{cls} [{k}]" for k in kinds]
        else:
            out.append(name)
    return out


def slot_name(cls, text):
    """`void TD::X::name(args)` -> name; destructors keep their kind: `~X [deleting]`."""
    m = re.search(rf"TD::{cls}::(~?\w+)\(", text)
    if not m:
        return text
    name = m.group(1)
    if name.startswith("~"):
        kind = re.search(r"\[([a-z ]+)\]\s*$", text)
        return f"{name} [{kind.group(1) if kind else '?'}]"
    return name


def parse_dump(text):
    """Every `V(F)Table indices for 'TD::X'` block: class -> list of slot names."""
    tables, cls = {}, None
    for line in text.splitlines():
        head = HEADER.match(line)
        if head:
            cls = head.group(1)
            tables[cls] = []
            continue
        entry = ENTRY.match(line) if cls else None
        if entry:
            assert int(entry.group(1)) == len(tables[cls]), line
            tables[cls].append(slot_name(cls, entry.group(2)))
        elif cls and not line.strip():
            cls = None
    return tables


def compile_target(clang, target):
    flags = ["-std=c++17", "-Werror", "-Wall", "-Wextra", "-ffreestanding", "-nostdlibinc",
             "-isystem", str(ROOT / "tools/abi_stubs"), "-I", str(ROOT / "include"),
             "-I", str(ROOT / "cpp"), "-DTDS_VERSION_MAJOR=0", "-DTDS_VERSION_MINOR=1",
             "-S", "-o", os.devnull, "-Xclang", "-fdump-vtable-layouts"]
    tables, errors = {}, []
    for src in sorted((ROOT / "cpp").glob("*.cpp")):
        run = subprocess.run([clang, f"--target={target}", *flags, str(src)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            errors.append(f"{target}: {src.name} does not compile:\n{run.stderr}")
            continue
        tables.update(parse_dump(run.stdout + run.stderr))
    return tables, errors


def compare(target, tables):
    msvc = "windows-msvc" in target
    errors = []
    for cls in sorted(REQUIRED - tables.keys()):
        errors.append(f"{target}: no vtable of {cls} was laid out: does the shim still use it?")
    for cls, got in sorted(tables.items()):
        if cls not in SLOTS:
            errors.append(f"{target}: {cls} has virtuals but no slot table in tools/cross_abi.py")
            continue
        want = expected(cls, msvc)
        if len(got) != len(want):
            errors.append(f"{target}: {cls} has {len(got)} slots, the sheet says {len(want)}")
        for i, (g, w) in enumerate(zip(got, want)):
            if w != ANY and g != w:
                errors.append(f"{target}: {cls} slot {i} is {g}, the sheet says {w}")
    return errors


def sheet_errors():
    """Compares SLOTS with the sheet's CHOP/DAT base tables (columns I, W, Method) if present."""
    candidates = [os.environ.get("TD_ABI_SHEET"), ROOT.parent / "shared/td-abi.md",
                  ROOT.parent.parent / "shared/td-abi.md"]
    sheet = next((Path(p) for p in candidates if p and Path(p).is_file()), None)
    if sheet is None:
        return [], None
    errors, cls, rows = [], None, 0
    for line in sheet.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^### (CHOP|DAT)_CPlusPlusBase", line)
        if head:
            cls = f"{head.group(1)}_CPlusPlusBase"
            continue
        if line.startswith("### "):
            cls = None
        row = re.match(r"^\| (\d+)(?:–\d+)? \| (\d+)(?:–\d+)? \| (?:\[[^\]]*\] )?(\w+)\(", line)
        if cls and row:
            w, name = int(row.group(2)), row.group(3)
            rows += 1
            if expected(cls, True)[w] != name:
                errors.append(f"{sheet}: {cls} W slot {w} is {name}; tools/cross_abi.py differs")
    if rows < 20:
        errors.append(f"{sheet}: only {rows} slot rows found in its CHOP/DAT tables")
    return errors, sheet


def main():
    clang = os.environ.get("CLANGXX", "clang++")
    if shutil.which(clang) is None:
        print(f"cross_abi: {clang} not found: apt-get install clang (or set CLANGXX)",
              file=sys.stderr)
        return 1
    errors, checked = [], 0
    for target in TARGETS:
        tables, compile_errors = compile_target(clang, target)
        errors += compile_errors + compare(target, tables)
        checked += len(tables)
        print(f"cross_abi: {target}: cpp/ compiles; vtables checked: {', '.join(sorted(tables))}")
    more, sheet = sheet_errors()
    errors += more
    if sheet:
        print(f"cross_abi: slot tables compared with {sheet}")
    for e in errors:
        print(f"cross_abi: {e}", file=sys.stderr)
    return 1 if errors or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
