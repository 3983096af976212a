// td_abi/layout.h: the facts sheet's sizes and offsets, checked at compile time (MIT OR
// Apache-2.0). Part of td_abi.h, after the declarations it checks.
#ifndef TDS_TD_ABI_LAYOUT_H
#define TDS_TD_ABI_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

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

#endif  // TDS_TD_ABI_LAYOUT_H
