// td_abi/types.h: the data TouchDesigner and a plugin pass each other, by layout (MIT OR
// Apache-2.0). Part of td_abi.h, which includes it first.
#ifndef TDS_TD_ABI_TYPES_H
#define TDS_TD_ABI_TYPES_H

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

}  // namespace TD

#pragma pack(pop)

#endif  // TDS_TD_ABI_TYPES_H
