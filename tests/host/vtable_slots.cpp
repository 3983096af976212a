// vtable_slots.cpp: checks that cpp/td_abi.h puts every virtual method in the vtable slot the
// facts sheet gives (Itanium C++ ABI: Linux and macOS).
//
// Sizes and offsets are static_asserts in td_abi.h, but a method declared in the wrong order
// compiles fine and calls the wrong function at run time. On Itanium a pointer to a virtual
// member function stores 1 + the method's byte offset in the vtable, which gives its slot.
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "td_abi.h"

namespace host {

using namespace TD;

namespace {

struct Pmf {
    uintptr_t ptr;
    ptrdiff_t adj;
};

template <typename F>
long slot_of(F pmf) {
    static_assert(sizeof(F) == sizeof(Pmf), "Itanium member function pointers are two words");
    Pmf rep;
    memcpy(&rep, &pmf, sizeof rep);
    if ((rep.ptr & 1) == 0) {
        return -1;  // not virtual
    }
    return static_cast<long>((rep.ptr - 1) / sizeof(void*));
}

struct SlotChecker {
    std::vector<std::string>* failures;
    int checked = 0;
    template <typename F>
    void expect(const char* what, F pmf, long slot) {
        ++checked;
        const long got = slot_of(pmf);
        if (got != slot) {
            char line[256];
            snprintf(line, sizeof line, "vtable: %s is in slot %ld, the sheet says %ld", what, got, slot);
            failures->push_back(line);
        }
    }
};

}  // namespace

#define SLOT(cls, method, n) c.expect(#cls "::" #method, &cls::method, n)

#if defined(__GXX_ABI_VERSION) && !defined(_WIN32)
namespace {

// The classes a plugin derives from.
void check_plugin_bases(SlotChecker& c) {
    // CHOP_CPlusPlusBase: destructor in 0-1, 31 slots in all.
    SLOT(CHOP_CPlusPlusBase, getGeneralInfo, 2);
    SLOT(CHOP_CPlusPlusBase, getOutputInfo, 3);
    SLOT(CHOP_CPlusPlusBase, getChannelName, 4);
    SLOT(CHOP_CPlusPlusBase, execute, 5);
    SLOT(CHOP_CPlusPlusBase, getNumInfoCHOPChans, 6);
    SLOT(CHOP_CPlusPlusBase, getInfoCHOPChan, 7);
    SLOT(CHOP_CPlusPlusBase, getInfoDATSize, 8);
    SLOT(CHOP_CPlusPlusBase, getInfoDATEntries, 9);
    SLOT(CHOP_CPlusPlusBase, getWarningString, 10);
    SLOT(CHOP_CPlusPlusBase, getErrorString, 11);
    SLOT(CHOP_CPlusPlusBase, getInfoPopupString, 12);
    SLOT(CHOP_CPlusPlusBase, setupParameters, 13);
    SLOT(CHOP_CPlusPlusBase, pulsePressed, 14);
    SLOT(CHOP_CPlusPlusBase, buildDynamicMenu, 15);
    SLOT(CHOP_CPlusPlusBase, saveData, 16);
    SLOT(CHOP_CPlusPlusBase, inputConnectorLabel, 18);
    SLOT(CHOP_CPlusPlusBase, reservedFunc19, 19);
    SLOT(CHOP_CPlusPlusBase, reservedFunc30, 30);
    // DAT_CPlusPlusBase: destructor in 0-1, 29 slots in all.
    SLOT(DAT_CPlusPlusBase, getGeneralInfo, 2);
    SLOT(DAT_CPlusPlusBase, execute, 3);
    SLOT(DAT_CPlusPlusBase, getNumInfoCHOPChans, 4);
    SLOT(DAT_CPlusPlusBase, getInfoCHOPChan, 5);
    SLOT(DAT_CPlusPlusBase, getInfoDATSize, 6);
    SLOT(DAT_CPlusPlusBase, getInfoDATEntries, 7);
    SLOT(DAT_CPlusPlusBase, getWarningString, 8);
    SLOT(DAT_CPlusPlusBase, getErrorString, 9);
    SLOT(DAT_CPlusPlusBase, getInfoPopupString, 10);
    SLOT(DAT_CPlusPlusBase, setupParameters, 11);
    SLOT(DAT_CPlusPlusBase, pulsePressed, 12);
    SLOT(DAT_CPlusPlusBase, buildDynamicMenu, 13);
    SLOT(DAT_CPlusPlusBase, reservedFunc14, 14);
    SLOT(DAT_CPlusPlusBase, reservedFunc28, 28);
}

// The small objects TouchDesigner hands over, and the DAT's output.
void check_td_objects(SlotChecker& c) {
    // Small classes.
    SLOT(OP_String, setString, 2);
    SLOT(OP_BuildDynamicMenuInfo, addMenuEntry, 0);
    SLOT(OP_Context, createArgumentsTuple, 2);
    SLOT(OP_Context, callPythonCallback, 3);
    SLOT(OP_Context, beginCUDAOperations, 4);
    SLOT(OP_Context, endCUDAOperations, 5);
    SLOT(OP_Context, reservedContext20, 20);
    // DAT_Output.
    SLOT(DAT_Output, setOutputDataType, 0);
    SLOT(DAT_Output, getOutputDataType, 1);
    SLOT(DAT_Output, setTableSize, 2);
    SLOT(DAT_Output, getTableSize, 3);
    SLOT(DAT_Output, setText, 4);
    SLOT(DAT_Output, findRow, 5);
    SLOT(DAT_Output, findCol, 6);
    SLOT(DAT_Output, setCellString, 7);
    SLOT(DAT_Output, setCellInt, 8);
    SLOT(DAT_Output, setCellDouble, 9);
    SLOT(DAT_Output, getCellString, 10);
    SLOT(DAT_Output, getCellInt, 11);
    SLOT(DAT_Output, getCellDouble, 12);
}

void check_inputs_and_parameters(SlotChecker& c) {
    // OP_Inputs (slots 1, 4, 20 and 23 are private deprecated placeholders).
    SLOT(OP_Inputs, getNumInputs, 0);
    SLOT(OP_Inputs, getInputCHOP, 2);
    SLOT(OP_Inputs, getParDAT, 3);
    SLOT(OP_Inputs, getParCHOP, 5);
    SLOT(OP_Inputs, getParObject, 6);
    SLOT(OP_Inputs, getParDouble, 7);
    SLOT(OP_Inputs, getParDouble2, 8);
    SLOT(OP_Inputs, getParDouble3, 9);
    SLOT(OP_Inputs, getParDouble4, 10);
    SLOT(OP_Inputs, getParInt, 11);
    SLOT(OP_Inputs, getParInt2, 12);
    SLOT(OP_Inputs, getParInt3, 13);
    SLOT(OP_Inputs, getParInt4, 14);
    SLOT(OP_Inputs, getParString, 15);
    SLOT(OP_Inputs, getParFilePath, 16);
    SLOT(OP_Inputs, getRelativeTransform, 17);
    SLOT(OP_Inputs, enablePar, 18);
    SLOT(OP_Inputs, getDAT, 19);
    SLOT(OP_Inputs, getCHOP, 21);
    SLOT(OP_Inputs, getObject, 22);
    SLOT(OP_Inputs, getParSOP, 24);
    SLOT(OP_Inputs, getInputSOP, 25);
    SLOT(OP_Inputs, getSOP, 26);
    SLOT(OP_Inputs, getInputDAT, 27);
    SLOT(OP_Inputs, getParPython, 28);
    SLOT(OP_Inputs, getTimeInfo, 29);
    SLOT(OP_Inputs, getTOP, 30);
    SLOT(OP_Inputs, getInputTOP, 31);
    SLOT(OP_Inputs, getParTOP, 32);
    // OP_ParameterManager.
    SLOT(OP_ParameterManager, appendFloat, 0);
    SLOT(OP_ParameterManager, appendInt, 1);
    SLOT(OP_ParameterManager, appendXY, 2);
    SLOT(OP_ParameterManager, appendXYZ, 3);
    SLOT(OP_ParameterManager, appendUV, 4);
    SLOT(OP_ParameterManager, appendUVW, 5);
    SLOT(OP_ParameterManager, appendRGB, 6);
    SLOT(OP_ParameterManager, appendRGBA, 7);
    SLOT(OP_ParameterManager, appendToggle, 8);
    SLOT(OP_ParameterManager, appendPulse, 9);
    SLOT(OP_ParameterManager, appendString, 10);
    SLOT(OP_ParameterManager, appendFile, 11);
    SLOT(OP_ParameterManager, appendFolder, 12);
    SLOT(OP_ParameterManager, appendDAT, 13);
    SLOT(OP_ParameterManager, appendCHOP, 14);
    SLOT(OP_ParameterManager, appendTOP, 15);
    SLOT(OP_ParameterManager, appendObject, 16);
    SLOT(OP_ParameterManager, appendMenu, 17);
    SLOT(OP_ParameterManager, appendStringMenu, 18);
    SLOT(OP_ParameterManager, appendSOP, 19);
    SLOT(OP_ParameterManager, appendPython, 20);
    SLOT(OP_ParameterManager, appendOP, 21);
    SLOT(OP_ParameterManager, appendCOMP, 22);
    SLOT(OP_ParameterManager, appendMAT, 23);
    SLOT(OP_ParameterManager, appendPanelCOMP, 24);
    SLOT(OP_ParameterManager, appendHeader, 25);
    SLOT(OP_ParameterManager, appendMomentary, 26);
    SLOT(OP_ParameterManager, appendWH, 27);
    SLOT(OP_ParameterManager, appendDynamicStringMenu, 28);
    SLOT(OP_ParameterManager, appendDynamicMenu, 29);
}

}  // namespace
#endif

// Appends one line per misplaced method; returns how many methods it checked.
int check_vtable_slots(std::vector<std::string>& failures) {
#if defined(__GXX_ABI_VERSION) && !defined(_WIN32)
    SlotChecker c{&failures};
    check_plugin_bases(c);
    check_td_objects(c);
    check_inputs_and_parameters(c);
    return c.checked;
#else
    (void)failures;
    return 0;
#endif
}

}  // namespace host
