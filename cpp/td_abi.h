// td_abi.h: td-spotify's own declarations of TouchDesigner's CPlusPlus CHOP (API 9) and DAT
// (API 3) plugin interfaces (MIT OR Apache-2.0).
//
// Written from the clean-room facts sheet (layouts, sizes, vtable order) only; nothing here is
// copied from Derivative's headers. TouchDesigner never sees these names: it finds six extern "C"
// entry points and then talks to objects purely through their memory layout and vtable order, so
// every declaration below is there to reproduce a layout. The static_asserts pin each size and
// offset the sheet gives; tests/host checks the vtable slot of every method on Itanium.
//
// Set TD_SDK_DIR when building to compile against Derivative's official headers instead
// (see cpp/td_types.h).
#ifndef TDS_TD_ABI_H
#define TDS_TD_ABI_H

#include <stddef.h>
#include <stdint.h>

// TouchDesigner builds with 8-byte packing; on x86_64 and arm64 that is the natural layout, so
// this only matters if someone builds for an unusual target.
#pragma pack(push, 8)

namespace TD {

// Types TouchDesigner hands over that the plugin never opens.
class OP_TOPInput;
class OP_SOPInput;
class OP_ObjectInput;
class OP_NodeSaveState;  // TouchDesigner 2025.33060 and later
class OP_NodeLoadState;
struct OP_InputLabel;
struct TDS_PyObject;
struct TDS_PyGetSetDef;
struct TDS_PyMethodDef;
using PyObject = TDS_PyObject;
using PyGetSetDef = TDS_PyGetSetDef;
using PyMethodDef = TDS_PyMethodDef;

// ---------------------------------------------------------------------------------------------
// Strings and small polymorphic helpers owned by TouchDesigner.

// A string TouchDesigner owns; the only way to hand text back to it.
class OP_String {
protected:
    OP_String() {}
    virtual ~OP_String() {}

public:
    virtual void setString(const char* utf8) = 0;

    int32_t reserved[20];
};

// Filled by buildDynamicMenu. The vptr sits at offset 0 even though data comes first here.
class OP_BuildDynamicMenuInfo {
public:
    void* instance;
    const char* name;
    int32_t reserved[20];

    virtual bool addMenuEntry(const char* name, const char* label) = 0;
};

// Python and CUDA services of the node (reached through OP_NodeInfo::context).
class OP_Context {
public:
    virtual ~OP_Context() {}
    virtual PyObject* createArgumentsTuple(int nargs, void* reserved1) = 0;
    virtual PyObject* callPythonCallback(const char* fn, PyObject* args, PyObject* kwargs,
                                         void* reserved1) = 0;
    virtual bool beginCUDAOperations(void* reserved1) = 0;
    virtual void endCUDAOperations(void* reserved1) = 0;
    virtual int32_t reservedContext6() { return 0; }
    virtual int32_t reservedContext7() { return 0; }
    virtual int32_t reservedContext8() { return 0; }
    virtual int32_t reservedContext9() { return 0; }
    virtual int32_t reservedContext10() { return 0; }
    virtual int32_t reservedContext11() { return 0; }
    virtual int32_t reservedContext12() { return 0; }
    virtual int32_t reservedContext13() { return 0; }
    virtual int32_t reservedContext14() { return 0; }
    virtual int32_t reservedContext15() { return 0; }
    virtual int32_t reservedContext16() { return 0; }
    virtual int32_t reservedContext17() { return 0; }
    virtual int32_t reservedContext18() { return 0; }
    virtual int32_t reservedContext19() { return 0; }
    virtual int32_t reservedContext20() { return 0; }

    int32_t reserved[50];
};

// ---------------------------------------------------------------------------------------------
// Plain structs.

struct OP_CustomOPInfo {
    OP_String* opType;
    OP_String* opLabel;
    OP_String* opIcon;
    int32_t minInputs;
    int32_t maxInputs;
    OP_String* authorName;
    OP_String* authorEmail;
    int32_t majorVersion;
    int32_t minorVersion;
    OP_String* pythonVersion;
    bool cookOnStart;
    PyGetSetDef* pythonGetSets;
    PyMethodDef* pythonMethods;
    const char* pythonDoc;
    const char* pythonCallbacksDAT;
    int32_t reserved[88];
};

// CHOP_PluginInfo and DAT_PluginInfo share one layout. TouchDesigner 2025 fills
// minAPIVersion/maxAPIVersion before calling Fill; older builds leave them zero (reserved).
struct CHOP_PluginInfo {
    int32_t apiVersion;
    int32_t reserved[100];
    OP_CustomOPInfo customOPInfo;
    int32_t reserved2[18];
    int32_t minAPIVersion;
    int32_t maxAPIVersion;
};

struct DAT_PluginInfo {
    int32_t apiVersion;
    int32_t reserved[100];
    OP_CustomOPInfo customOPInfo;
    int32_t reserved2[18];
    int32_t minAPIVersion;
    int32_t maxAPIVersion;
};

// Given to Create*Instance; TouchDesigner updates cookCount in place.
struct OP_NodeInfo {
    const char* opPath;
    uint32_t opId;
#if defined(_WIN32)
    void* mainWindowHandle;  // HWND
#endif
    const char* pluginPath;
    OP_Context* context;
    uint32_t cookCount;
#if defined(_WIN32)
    void* processHInstance;  // HINSTANCE
    int32_t reserved[12];
#else
    int32_t reserved[14];
#endif
};

struct OP_TimeInfo {
    int64_t absFrame;
    double frame;
    double rate;
    double rootFrame;
    double rootRate;
    double deltaFrames;
    double deltaMS;
    int32_t reserved[40];
};

struct OP_CustomOPInstance {
    void* instance;
    const char* opType;
    int32_t minorVersion;
    int32_t majorVersion;
    int32_t reserved[50];
};

struct OP_DATInput {
    const char* opPath;
    uint32_t opId;
    int32_t numRows;
    int32_t numCols;
    bool isTable;
    const char** cellData;  // row-major: cell(r, c) = cellData[r * numCols + c]
    int64_t totalCooks;
    const OP_CustomOPInstance* customOP;
    int32_t reserved[16];
};

struct OP_CHOPInput {
    const char* opPath;
    uint32_t opId;
    int32_t numChannels;
    int32_t numSamples;
    double sampleRate;
    double startIndex;
    const float** channelData;  // channelData[c][s]
    const char** nameData;
    int64_t totalCooks;
    const OP_CustomOPInstance* customOP;
    int32_t reserved[16];
};

struct CHOP_GeneralInfo {
    bool cookEveryFrame;
    bool cookEveryFrameIfAsked;
    bool timeslice;
    int32_t inputMatchIndex;
    int32_t reserved[20];
};

struct CHOP_OutputInfo {
    int32_t numChannels;
    int32_t numSamples;
    uint32_t startIndex;
    float sampleRate;
    void* reserved1;
    int32_t reserved[20];
};

// Built by TouchDesigner for each execute; the plugin only writes the samples.
struct CHOP_Output {
    CHOP_Output(int32_t nChannels, int32_t nSamples, float rate, uint32_t start,
                float** channelBuffers, const char** channelNames)
        : numChannels(nChannels),
          numSamples(nSamples),
          sampleRate(rate),
          startIndex(start),
          names(channelNames),
          channels(channelBuffers),
          reserved{} {}

    const int32_t numChannels;
    const int32_t numSamples;
    const float sampleRate;
    const uint32_t startIndex;
    const char** const names;
    float** const channels;  // channels[c][s]
    int32_t reserved[20];
};

struct DAT_GeneralInfo {
    bool cookEveryFrame;
    bool cookEveryFrameIfAsked;
    int32_t reserved[20];
};

struct OP_InfoCHOPChan {
    OP_String* name;
    float value;
    int32_t reserved[10];
};

struct OP_InfoDATSize {
    int32_t rows;
    int32_t cols;
    bool byColumn;
    int32_t reserved[10];
};

struct OP_InfoDATEntries {
    OP_String** values;
    int32_t reserved[10];
};

// Describes a numeric parameter to append. The constructor applies the documented defaults;
// callers that might build against other headers zero the whole struct themselves.
struct OP_NumericParameter {
    explicit OP_NumericParameter(const char* iname = nullptr)
        : name(iname),
          label(nullptr),
          page(nullptr),
          defaultValues{},
          minValues{},
          maxValues{1.0, 1.0, 1.0, 1.0},
          clampMins{},
          clampMaxes{},
          minSliders{},
          maxSliders{1.0, 1.0, 1.0, 1.0},
          size(1),
          section(false),
          help(nullptr),
          reserved{} {}

    const char* name;
    const char* label;
    const char* page;
    double defaultValues[4];
    double minValues[4];
    double maxValues[4];
    bool clampMins[4];
    bool clampMaxes[4];
    double minSliders[4];
    double maxSliders[4];
    // From TouchDesigner 2025.33060 (reserved, and ignored, before it).
    int32_t size;
    bool section;
    const char* help;
    int32_t reserved[16];
};

struct OP_StringParameter {
    explicit OP_StringParameter(const char* iname = nullptr)
        : name(iname),
          label(nullptr),
          page(nullptr),
          defaultValue(nullptr),
          size(1),
          section(false),
          help(nullptr),
          reserved{} {}

    const char* name;
    const char* label;
    const char* page;
    const char* defaultValue;
    // From TouchDesigner 2025.33060 (reserved, and ignored, before it).
    int32_t size;
    bool section;
    const char* help;
    int32_t reserved[16];
};

enum class OP_ParAppendResult : int32_t {
    Success = 0,
    InvalidName = 1,  // bad or duplicate name
    InvalidSize = 2,
};

enum class DAT_OutDataType : int32_t {
    Table = 0,
    Text = 1,
};

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

// ---------------------------------------------------------------------------------------------
// Sizes and offsets from the facts sheet (x86_64 / arm64; identical on MSVC except OP_NodeInfo).
// Classes with virtual functions are not standard-layout, so only their sizes are pinned here.
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#define TDS_AT(type, member, offset) \
    static_assert(offsetof(TD::type, member) == (offset), #type "::" #member " is misplaced")
#define TDS_SIZE(type, size) static_assert(sizeof(TD::type) == (size), "sizeof " #type)

TDS_SIZE(OP_String, 88);
TDS_SIZE(OP_BuildDynamicMenuInfo, 104);
TDS_SIZE(OP_Context, 208);
TDS_SIZE(OP_Inputs, 8);
TDS_SIZE(OP_ParameterManager, 8);
TDS_SIZE(DAT_Output, 88);
TDS_SIZE(CHOP_CPlusPlusBase, 1608);
TDS_SIZE(DAT_CPlusPlusBase, 1608);

TDS_SIZE(CHOP_PluginInfo, 944);
TDS_AT(CHOP_PluginInfo, apiVersion, 0);
TDS_AT(CHOP_PluginInfo, reserved, 4);
TDS_AT(CHOP_PluginInfo, customOPInfo, 408);
TDS_AT(CHOP_PluginInfo, reserved2, 864);
TDS_AT(CHOP_PluginInfo, minAPIVersion, 936);
TDS_AT(CHOP_PluginInfo, maxAPIVersion, 940);
TDS_SIZE(DAT_PluginInfo, 944);
TDS_AT(DAT_PluginInfo, customOPInfo, 408);
TDS_AT(DAT_PluginInfo, minAPIVersion, 936);
TDS_AT(DAT_PluginInfo, maxAPIVersion, 940);

TDS_SIZE(OP_CustomOPInfo, 456);
TDS_AT(OP_CustomOPInfo, opType, 0);
TDS_AT(OP_CustomOPInfo, opLabel, 8);
TDS_AT(OP_CustomOPInfo, opIcon, 16);
TDS_AT(OP_CustomOPInfo, minInputs, 24);
TDS_AT(OP_CustomOPInfo, maxInputs, 28);
TDS_AT(OP_CustomOPInfo, authorName, 32);
TDS_AT(OP_CustomOPInfo, authorEmail, 40);
TDS_AT(OP_CustomOPInfo, majorVersion, 48);
TDS_AT(OP_CustomOPInfo, minorVersion, 52);
TDS_AT(OP_CustomOPInfo, pythonVersion, 56);
TDS_AT(OP_CustomOPInfo, cookOnStart, 64);
TDS_AT(OP_CustomOPInfo, pythonGetSets, 72);
TDS_AT(OP_CustomOPInfo, pythonMethods, 80);
TDS_AT(OP_CustomOPInfo, pythonDoc, 88);
TDS_AT(OP_CustomOPInfo, pythonCallbacksDAT, 96);
TDS_AT(OP_CustomOPInfo, reserved, 104);

TDS_AT(OP_NodeInfo, opPath, 0);
TDS_AT(OP_NodeInfo, opId, 8);
#if defined(_WIN32)
TDS_SIZE(OP_NodeInfo, 104);
TDS_AT(OP_NodeInfo, mainWindowHandle, 16);
TDS_AT(OP_NodeInfo, pluginPath, 24);
TDS_AT(OP_NodeInfo, context, 32);
TDS_AT(OP_NodeInfo, cookCount, 40);
TDS_AT(OP_NodeInfo, processHInstance, 48);
TDS_AT(OP_NodeInfo, reserved, 56);
#else
TDS_SIZE(OP_NodeInfo, 96);
TDS_AT(OP_NodeInfo, pluginPath, 16);
TDS_AT(OP_NodeInfo, context, 24);
TDS_AT(OP_NodeInfo, cookCount, 32);
TDS_AT(OP_NodeInfo, reserved, 36);
#endif

TDS_SIZE(CHOP_GeneralInfo, 88);
static_assert(alignof(TD::CHOP_GeneralInfo) == 4, "CHOP_GeneralInfo alignment");
TDS_AT(CHOP_GeneralInfo, cookEveryFrame, 0);
TDS_AT(CHOP_GeneralInfo, cookEveryFrameIfAsked, 1);
TDS_AT(CHOP_GeneralInfo, timeslice, 2);
TDS_AT(CHOP_GeneralInfo, inputMatchIndex, 4);
TDS_AT(CHOP_GeneralInfo, reserved, 8);

TDS_SIZE(CHOP_OutputInfo, 104);
TDS_AT(CHOP_OutputInfo, numChannels, 0);
TDS_AT(CHOP_OutputInfo, numSamples, 4);
TDS_AT(CHOP_OutputInfo, startIndex, 8);
TDS_AT(CHOP_OutputInfo, sampleRate, 12);
TDS_AT(CHOP_OutputInfo, reserved1, 16);
TDS_AT(CHOP_OutputInfo, reserved, 24);

TDS_SIZE(CHOP_Output, 112);
TDS_AT(CHOP_Output, numChannels, 0);
TDS_AT(CHOP_Output, numSamples, 4);
TDS_AT(CHOP_Output, sampleRate, 8);
TDS_AT(CHOP_Output, startIndex, 12);
TDS_AT(CHOP_Output, names, 16);
TDS_AT(CHOP_Output, channels, 24);
TDS_AT(CHOP_Output, reserved, 32);

TDS_SIZE(DAT_GeneralInfo, 84);
static_assert(alignof(TD::DAT_GeneralInfo) == 4, "DAT_GeneralInfo alignment");
TDS_AT(DAT_GeneralInfo, cookEveryFrame, 0);
TDS_AT(DAT_GeneralInfo, cookEveryFrameIfAsked, 1);
TDS_AT(DAT_GeneralInfo, reserved, 4);

TDS_SIZE(OP_InfoCHOPChan, 56);
TDS_AT(OP_InfoCHOPChan, name, 0);
TDS_AT(OP_InfoCHOPChan, value, 8);
TDS_AT(OP_InfoCHOPChan, reserved, 12);

TDS_SIZE(OP_InfoDATSize, 52);
static_assert(alignof(TD::OP_InfoDATSize) == 4, "OP_InfoDATSize alignment");
TDS_AT(OP_InfoDATSize, rows, 0);
TDS_AT(OP_InfoDATSize, cols, 4);
TDS_AT(OP_InfoDATSize, byColumn, 8);
TDS_AT(OP_InfoDATSize, reserved, 12);

TDS_SIZE(OP_InfoDATEntries, 48);
TDS_AT(OP_InfoDATEntries, values, 0);
TDS_AT(OP_InfoDATEntries, reserved, 8);

TDS_SIZE(OP_TimeInfo, 216);
TDS_AT(OP_TimeInfo, absFrame, 0);
TDS_AT(OP_TimeInfo, frame, 8);
TDS_AT(OP_TimeInfo, rate, 16);
TDS_AT(OP_TimeInfo, rootFrame, 24);
TDS_AT(OP_TimeInfo, rootRate, 32);
TDS_AT(OP_TimeInfo, deltaFrames, 40);
TDS_AT(OP_TimeInfo, deltaMS, 48);
TDS_AT(OP_TimeInfo, reserved, 56);

TDS_SIZE(OP_DATInput, 112);
TDS_AT(OP_DATInput, opPath, 0);
TDS_AT(OP_DATInput, opId, 8);
TDS_AT(OP_DATInput, numRows, 12);
TDS_AT(OP_DATInput, numCols, 16);
TDS_AT(OP_DATInput, isTable, 20);
TDS_AT(OP_DATInput, cellData, 24);
TDS_AT(OP_DATInput, totalCooks, 32);
TDS_AT(OP_DATInput, customOP, 40);
TDS_AT(OP_DATInput, reserved, 48);

TDS_SIZE(OP_CHOPInput, 136);
TDS_AT(OP_CHOPInput, opPath, 0);
TDS_AT(OP_CHOPInput, opId, 8);
TDS_AT(OP_CHOPInput, numChannels, 12);
TDS_AT(OP_CHOPInput, numSamples, 16);
TDS_AT(OP_CHOPInput, sampleRate, 24);
TDS_AT(OP_CHOPInput, startIndex, 32);
TDS_AT(OP_CHOPInput, channelData, 40);
TDS_AT(OP_CHOPInput, nameData, 48);
TDS_AT(OP_CHOPInput, totalCooks, 56);
TDS_AT(OP_CHOPInput, customOP, 64);
TDS_AT(OP_CHOPInput, reserved, 72);

TDS_SIZE(OP_CustomOPInstance, 224);
TDS_AT(OP_CustomOPInstance, instance, 0);
TDS_AT(OP_CustomOPInstance, opType, 8);
TDS_AT(OP_CustomOPInstance, minorVersion, 16);
TDS_AT(OP_CustomOPInstance, majorVersion, 20);
TDS_AT(OP_CustomOPInstance, reserved, 24);

TDS_SIZE(OP_NumericParameter, 272);
TDS_AT(OP_NumericParameter, name, 0);
TDS_AT(OP_NumericParameter, label, 8);
TDS_AT(OP_NumericParameter, page, 16);
TDS_AT(OP_NumericParameter, defaultValues, 24);
TDS_AT(OP_NumericParameter, minValues, 56);
TDS_AT(OP_NumericParameter, maxValues, 88);
TDS_AT(OP_NumericParameter, clampMins, 120);
TDS_AT(OP_NumericParameter, clampMaxes, 124);
TDS_AT(OP_NumericParameter, minSliders, 128);
TDS_AT(OP_NumericParameter, maxSliders, 160);
TDS_AT(OP_NumericParameter, size, 192);
TDS_AT(OP_NumericParameter, section, 196);
TDS_AT(OP_NumericParameter, help, 200);
TDS_AT(OP_NumericParameter, reserved, 208);

TDS_SIZE(OP_StringParameter, 112);
TDS_AT(OP_StringParameter, name, 0);
TDS_AT(OP_StringParameter, label, 8);
TDS_AT(OP_StringParameter, page, 16);
TDS_AT(OP_StringParameter, defaultValue, 24);
TDS_AT(OP_StringParameter, size, 32);
TDS_AT(OP_StringParameter, section, 36);
TDS_AT(OP_StringParameter, help, 40);
TDS_AT(OP_StringParameter, reserved, 48);

static_assert(sizeof(TD::OP_ParAppendResult) == 4, "OP_ParAppendResult is an int32");
static_assert(sizeof(TD::DAT_OutDataType) == 4, "DAT_OutDataType is an int32");
static_assert(sizeof(bool) == 1, "TouchDesigner's bool is one byte");

#undef TDS_AT
#undef TDS_SIZE
#endif  // 64-bit

#endif  // TDS_TD_ABI_H
