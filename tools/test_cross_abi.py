#!/usr/bin/env python3
"""Tests of tools/cross_abi.py's parsing and comparison on hand-written clang dumps, so a check
that silently passes everything cannot go unnoticed. Run from .ci/run."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cross_abi  # noqa: E402

MSVC_OK = """\
VFTable indices for 'TD::OP_String' (2 entries).
   0 | TD::OP_String::~OP_String() [scalar deleting]
   1 | void TD::OP_String::setString(const char *)

VFTable indices for 'tds::Forwarding' (1 entries).
   0 | tds::Forwarding::~Forwarding() [scalar deleting]
"""

ITANIUM_OK = """\
VTable indices for 'TD::OP_String' (3 entries).
   0 | TD::OP_String::~OP_String() [complete]
   1 | TD::OP_String::~OP_String() [deleting]
   2 | void TD::OP_String::setString(const char *)
"""


class CrossAbiTest(unittest.TestCase):
    def setUp(self):
        self.required = cross_abi.REQUIRED
        cross_abi.REQUIRED = {"OP_String"}

    def tearDown(self):
        cross_abi.REQUIRED = self.required

    def test_msvc_destructor_takes_one_slot_and_only_td_classes_count(self):
        tables = cross_abi.parse_dump(MSVC_OK)
        self.assertEqual(tables, {"OP_String": ["~OP_String [scalar deleting]", "setString"]})
        self.assertEqual(cross_abi.compare("x86_64-pc-windows-msvc", tables), [])

    def test_itanium_destructor_takes_two_slots(self):
        tables = cross_abi.parse_dump(ITANIUM_OK)
        self.assertEqual(cross_abi.compare("arm64-apple-macos11", tables), [])
        # The same table read as MSVC is one slot too long.
        self.assertTrue(cross_abi.compare("x86_64-pc-windows-msvc", tables))

    def test_a_moved_method_is_reported(self):
        swapped = MSVC_OK.replace("[scalar deleting]\n   1 | void TD::OP_String::setString",
                                  "[scalar deleting]\n   1 | void TD::OP_String::extra", 1)
        errors = cross_abi.compare("x86_64-pc-windows-msvc", cross_abi.parse_dump(swapped))
        self.assertEqual(errors, ["x86_64-pc-windows-msvc: OP_String slot 1 is extra, "
                                  "the sheet says setString"])

    def test_a_missing_or_unknown_class_is_reported(self):
        self.assertTrue(cross_abi.compare("x86_64-pc-windows-msvc", {}))
        unknown = MSVC_OK.replace("TD::OP_String", "TD::OP_Mystery")
        errors = cross_abi.compare("x86_64-pc-windows-msvc", cross_abi.parse_dump(unknown))
        self.assertTrue(any("OP_Mystery has virtuals but no slot table" in e for e in errors))

    def test_every_msvc_base_vtable_has_the_sheets_slot_count(self):
        # Facts sheet §3: 30 (CHOP) and 28 (DAT) slots on MSVC, 31 and 29 on Itanium.
        self.assertEqual(len(cross_abi.expected("CHOP_CPlusPlusBase", True)), 30)
        self.assertEqual(len(cross_abi.expected("CHOP_CPlusPlusBase", False)), 31)
        self.assertEqual(len(cross_abi.expected("DAT_CPlusPlusBase", True)), 28)
        self.assertEqual(len(cross_abi.expected("DAT_CPlusPlusBase", False)), 29)


if __name__ == "__main__":
    unittest.main(verbosity=2)
