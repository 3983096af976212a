// td_abi/classes.h: the interfaces TouchDesigner implements and the classes a plugin derives
// from, in vtable order (MIT OR Apache-2.0). Part of td_abi.h, after td_abi/types.h.
#ifndef TDS_TD_ABI_CLASSES_H
#define TDS_TD_ABI_CLASSES_H

#include <stddef.h>
#include <stdint.h>

// TouchDesigner builds with 8-byte packing; on x86_64 and arm64 that is the natural layout, so
// this only matters if someone builds for an unusual target.
#pragma pack(push, 8)

namespace TD {

// ---------------------------------------------------------------------------------------------
// Interfaces TouchDesigner implements. No virtual destructor: slot 0 is the first method.

class OP_Inputs {
public:
    virtual int32_t getNumInputs() const = 0;

private:
    // Deprecated OpenGL input TOP; kept only to hold its slot.
    virtual const void* tdsDeprecatedInputTOP(int32_t index) const = 0;

public:
    virtual const OP_CHOPInput* getInputCHOP(int32_t index) const = 0;
    virtual const OP_DATInput* getParDAT(const char* name) const = 0;

private:
    // Deprecated OpenGL parameter TOP.
    virtual const void* tdsDeprecatedParTOP(const char* name) const = 0;

public:
    virtual const OP_CHOPInput* getParCHOP(const char* name) const = 0;
    virtual const OP_ObjectInput* getParObject(const char* name) const = 0;
    virtual double getParDouble(const char* name, int32_t index = 0) const = 0;
    virtual bool getParDouble2(const char* name, double& v0, double& v1) const = 0;
    virtual bool getParDouble3(const char* name, double& v0, double& v1, double& v2) const = 0;
    virtual bool getParDouble4(const char* name, double& v0, double& v1, double& v2,
                               double& v3) const = 0;
    virtual int32_t getParInt(const char* name, int32_t index = 0) const = 0;
    virtual bool getParInt2(const char* name, int32_t& v0, int32_t& v1) const = 0;
    virtual bool getParInt3(const char* name, int32_t& v0, int32_t& v1, int32_t& v2) const = 0;
    virtual bool getParInt4(const char* name, int32_t& v0, int32_t& v1, int32_t& v2,
                            int32_t& v3) const = 0;
    virtual const char* getParString(const char* name) const = 0;
    virtual const char* getParFilePath(const char* name) const = 0;
    virtual bool getRelativeTransform(const char* from, const char* to, double matrix[4][4]) const = 0;
    virtual void enablePar(const char* name, bool on) const = 0;
    virtual const OP_DATInput* getDAT(const char* path) const = 0;

private:
    // Deprecated OpenGL TOP by path.
    virtual const void* tdsDeprecatedTOPByPath(const char* path) const = 0;

public:
    virtual const OP_CHOPInput* getCHOP(const char* path) const = 0;
    virtual const OP_ObjectInput* getObject(const char* path) const = 0;

private:
    // Deprecated download of TOP data to the CPU.
    virtual void* tdsDeprecatedTOPDataInCPU(const void* top, const void* options) const = 0;

public:
    virtual const OP_SOPInput* getParSOP(const char* name) const = 0;
    virtual const OP_SOPInput* getInputSOP(int32_t index) const = 0;
    virtual const OP_SOPInput* getSOP(const char* path) const = 0;
    virtual const OP_DATInput* getInputDAT(int32_t index) const = 0;
    // Returns a new reference.
    virtual PyObject* getParPython(const char* name) const = 0;
    virtual const OP_TimeInfo* getTimeInfo() const = 0;
    virtual const OP_TOPInput* getTOP(const char* path) const = 0;
    virtual const OP_TOPInput* getInputTOP(int32_t index) const = 0;
    virtual const OP_TOPInput* getParTOP(const char* name) const = 0;
};

class OP_ParameterManager {
public:
    virtual OP_ParAppendResult appendFloat(const OP_NumericParameter& np, int32_t size = 1) = 0;
    virtual OP_ParAppendResult appendInt(const OP_NumericParameter& np, int32_t size = 1) = 0;
    virtual OP_ParAppendResult appendXY(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendXYZ(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendUV(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendUVW(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendRGB(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendRGBA(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendToggle(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendPulse(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendString(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendFile(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendFolder(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendDAT(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendCHOP(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendTOP(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendObject(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendMenu(const OP_StringParameter& sp, int32_t nitems,
                                          const char** names, const char** labels) = 0;
    virtual OP_ParAppendResult appendStringMenu(const OP_StringParameter& sp, int32_t nitems,
                                                const char** names, const char** labels) = 0;
    virtual OP_ParAppendResult appendSOP(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendPython(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendOP(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendCOMP(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendMAT(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendPanelCOMP(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendHeader(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendMomentary(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendWH(const OP_NumericParameter& np) = 0;
    virtual OP_ParAppendResult appendDynamicStringMenu(const OP_StringParameter& sp) = 0;
    virtual OP_ParAppendResult appendDynamicMenu(const OP_NumericParameter& np) = 0;
};

// The DAT's output table or text. Its destructor is not virtual.
class DAT_Output {
public:
    virtual void setOutputDataType(DAT_OutDataType type) = 0;
    virtual DAT_OutDataType getOutputDataType() = 0;
    virtual void setTableSize(int32_t rows, int32_t cols) = 0;
    virtual void getTableSize(int32_t* rows, int32_t* cols) = 0;
    virtual bool setText(const char* utf8) = 0;
    virtual int32_t findRow(const char* name, int32_t hintIndex = -1) = 0;
    virtual int32_t findCol(const char* name, int32_t hintIndex = -1) = 0;
    virtual bool setCellString(int32_t row, int32_t col, const char* utf8) = 0;
    virtual bool setCellInt(int32_t row, int32_t col, int32_t value) = 0;
    virtual bool setCellDouble(int32_t row, int32_t col, double value) = 0;
    virtual const char* getCellString(int32_t row, int32_t col) = 0;
    virtual bool getCellInt(int32_t row, int32_t col, int32_t* value) = 0;
    virtual bool getCellDouble(int32_t row, int32_t col, double* value) = 0;

    int32_t reserved[20];
};

// ---------------------------------------------------------------------------------------------
// The classes a plugin derives from. Every callback ends with a reserved pointer TD passes as
// null. Reserved slots are never called but must exist so the vtable keeps its length.

class CHOP_CPlusPlusBase {
protected:
    CHOP_CPlusPlusBase() : reserved{} {}
    // Slots 0-1 (Itanium) / 0 (MSVC). Protected: TD deletes through DestroyCHOPInstance only.
    virtual ~CHOP_CPlusPlusBase() {}

public:
    virtual void getGeneralInfo(CHOP_GeneralInfo*, const OP_Inputs*, void* /*reserved1*/) {}
    virtual bool getOutputInfo(CHOP_OutputInfo*, const OP_Inputs*, void* /*reserved1*/) { return false; }
    virtual void getChannelName(int32_t /*index*/, OP_String* name, const OP_Inputs*, void*) {
        name->setString("chan1");
    }
    virtual void execute(CHOP_Output* output, const OP_Inputs* inputs, void* reserved1) = 0;
    virtual int32_t getNumInfoCHOPChans(void* /*reserved1*/) { return 0; }
    virtual void getInfoCHOPChan(int32_t /*index*/, OP_InfoCHOPChan*, void*) {}
    virtual bool getInfoDATSize(OP_InfoDATSize*, void*) { return false; }
    virtual void getInfoDATEntries(int32_t /*index*/, int32_t /*nEntries*/, OP_InfoDATEntries*,
                                   void*) {}
    virtual void getWarningString(OP_String* /*warning*/, void*) {}
    virtual void getErrorString(OP_String* /*error*/, void*) {}
    virtual void getInfoPopupString(OP_String* /*popup*/, void*) {}
    virtual void setupParameters(OP_ParameterManager* /*manager*/, void*) {}
    virtual void pulsePressed(const char* /*name*/, void*) {}
    virtual void buildDynamicMenu(const OP_Inputs*, OP_BuildDynamicMenuInfo*, void*) {}

    // Slots 16-18: reserved before TouchDesigner 2025.33060, which calls them. Doing nothing is
    // right for this plugin (nothing to save, no input labels) on every series.
    virtual void saveData(OP_NodeSaveState* /*saver*/, void*) {}
    virtual void loadData(const OP_NodeLoadState* /*loader*/, void*) {}
    virtual void inputConnectorLabel(int32_t /*index*/, OP_InputLabel* /*label*/, void*) {}
    virtual int32_t reservedFunc19() { return 0; }
    virtual int32_t reservedFunc20() { return 0; }
    virtual int32_t reservedFunc21() { return 0; }
    virtual int32_t reservedFunc22() { return 0; }
    virtual int32_t reservedFunc23() { return 0; }
    virtual int32_t reservedFunc24() { return 0; }
    virtual int32_t reservedFunc25() { return 0; }
    virtual int32_t reservedFunc26() { return 0; }
    virtual int32_t reservedFunc27() { return 0; }
    virtual int32_t reservedFunc28() { return 0; }
    virtual int32_t reservedFunc29() { return 0; }
    virtual int32_t reservedFunc30() { return 0; }

    int32_t reserved[400];
};

class DAT_CPlusPlusBase {
protected:
    DAT_CPlusPlusBase() : reserved{} {}

public:
    virtual ~DAT_CPlusPlusBase() {}

    virtual void getGeneralInfo(DAT_GeneralInfo*, const OP_Inputs*, void* /*reserved1*/) {}
    virtual void execute(DAT_Output* output, const OP_Inputs* inputs, void* reserved1) = 0;
    virtual int32_t getNumInfoCHOPChans(void* /*reserved1*/) { return 0; }
    virtual void getInfoCHOPChan(int32_t /*index*/, OP_InfoCHOPChan*, void*) {}
    virtual bool getInfoDATSize(OP_InfoDATSize*, void*) { return false; }
    virtual void getInfoDATEntries(int32_t /*index*/, int32_t /*nEntries*/, OP_InfoDATEntries*,
                                   void*) {}
    virtual void getWarningString(OP_String* /*warning*/, void*) {}
    virtual void getErrorString(OP_String* /*error*/, void*) {}
    virtual void getInfoPopupString(OP_String* /*popup*/, void*) {}
    virtual void setupParameters(OP_ParameterManager* /*manager*/, void*) {}
    virtual void pulsePressed(const char* /*name*/, void*) {}
    virtual void buildDynamicMenu(const OP_Inputs*, OP_BuildDynamicMenuInfo*, void*) {}

    virtual int32_t reservedFunc14() { return 0; }
    virtual int32_t reservedFunc15() { return 0; }
    virtual int32_t reservedFunc16() { return 0; }
    virtual int32_t reservedFunc17() { return 0; }
    virtual int32_t reservedFunc18() { return 0; }
    virtual int32_t reservedFunc19() { return 0; }
    virtual int32_t reservedFunc20() { return 0; }
    virtual int32_t reservedFunc21() { return 0; }
    virtual int32_t reservedFunc22() { return 0; }
    virtual int32_t reservedFunc23() { return 0; }
    virtual int32_t reservedFunc24() { return 0; }
    virtual int32_t reservedFunc25() { return 0; }
    virtual int32_t reservedFunc26() { return 0; }
    virtual int32_t reservedFunc27() { return 0; }
    virtual int32_t reservedFunc28() { return 0; }

    int32_t reserved[400];
};

}  // namespace TD

#pragma pack(pop)

#endif  // TDS_TD_ABI_CLASSES_H
