// shim.h: what the CHOP and the DAT share (MIT OR Apache-2.0).
//
// The shim has no logic of its own: every name, parameter, channel, row and message comes from
// the engine through the C ABI in include/td_spotify.h. Nothing here allocates, locks or does
// I/O on the cook path; text goes through fixed member buffers.
#ifndef TDS_SHIM_H
#define TDS_SHIM_H

#include "td_types.h"
#include "td_spotify.h"

// build.rs passes the crate's version, so TouchDesigner's compatibility check follows Cargo.toml.
#if !defined(TDS_VERSION_MAJOR) || !defined(TDS_VERSION_MINOR)
#error "TDS_VERSION_MAJOR and TDS_VERSION_MINOR must be defined (build.rs does)"
#endif

namespace tds {

// Writes the API version the engine picks from the range TouchDesigner offers (see
// td_spotify_api_version). False: TouchDesigner will refuse it, so Fill must stop here.
template <typename PluginInfo>
bool declare_api_version(PluginInfo& info, uint32_t family) {
    const TdsApiVersion v = td_spotify_api_version(family, get_at<int32_t>(info, layout::kMinApiVersion),
                                                   get_at<int32_t>(info, layout::kMaxApiVersion));
    put_at<int32_t>(info, layout::kApiVersion, v.version);
    return v.accepted;
}

// Bodies of the entry points; entry.cpp wraps each so no exception leaves the library.
void fill_chop_plugin_info(TD::CHOP_PluginInfo* info);
TD::CHOP_CPlusPlusBase* new_chop(const TD::OP_NodeInfo* info);
void delete_chop(TD::CHOP_CPlusPlusBase* op);
void fill_dat_plugin_info(TD::DAT_PluginInfo* info);
TD::DAT_CPlusPlusBase* new_dat(const TD::OP_NodeInfo* info);
void delete_dat(TD::DAT_CPlusPlusBase* op);

// Fills the strings and limits of a plugin's OP_CustomOPInfo from the library's operator table.
void describe_operator(TD::OP_CustomOPInfo& info, uint32_t family);

// The engine instance of one operator plus everything both families do the same way: custom
// parameters, pulses, messages and the Info CHOP/DAT.
class Operator {
public:
    explicit Operator(uint32_t family);
    ~Operator();
    Operator(const Operator&) = delete;
    Operator& operator=(const Operator&) = delete;

    TdsInstance* instance() const { return instance_; }

    // Appends this family's parameters, in table order.
    void setup_parameters(TD::OP_ParameterManager* manager) const;
    // Lets the library read the parameters it needs this cook. Cheap when nothing changed.
    void read_parameters(const TD::OP_Inputs* inputs);
    // Applies parameters and pins this cook's snapshot.
    void cook() const;

    void pulse(const char* name) const;
    void warning(TD::OP_String* out);
    void error(TD::OP_String* out);
    void info_popup(TD::OP_String* out);

    int32_t info_count() const;
    void info_chan(int32_t index, TD::OP_InfoCHOPChan* chan) const;
    bool info_dat_size(TD::OP_InfoDATSize* size) const;
    void info_dat_entries(int32_t index, int32_t n_entries, TD::OP_InfoDATEntries* entries);

private:
    // Parameters are static data: read once here, so a cook only asks TouchDesigner for values.
    static constexpr uint32_t kMaxParams = 64;
    struct Param {
        uint32_t index;  // in the library's table
        TdsParamInfo info;
    };

    uint32_t family_;
    TdsInstance* instance_;
    Param params_[kMaxParams];  // this family's parameters, in table order
    uint32_t params_count_ = 0;
    // How the library asks TouchDesigner for values; `inputs` is filled in per cook.
    TdsParamReader reader_{};
    char text_[1024];
};

// The callbacks CHOPs and DATs share (same names and signatures in both base classes), forwarded
// to the Operator. `Base` is CHOP_CPlusPlusBase or DAT_CPlusPlusBase.
template <class Base>
class Forwarding : public Base {
public:
    explicit Forwarding(uint32_t family) : op_(family) {}

    int32_t getNumInfoCHOPChans(void*) override { return op_.info_count(); }
    void getInfoCHOPChan(int32_t index, TD::OP_InfoCHOPChan* chan, void*) override {
        op_.info_chan(index, chan);
    }
    bool getInfoDATSize(TD::OP_InfoDATSize* size, void*) override { return op_.info_dat_size(size); }
    void getInfoDATEntries(int32_t index, int32_t n, TD::OP_InfoDATEntries* entries, void*) override {
        op_.info_dat_entries(index, n, entries);
    }
    void getWarningString(TD::OP_String* warning, void*) override { op_.warning(warning); }
    void getErrorString(TD::OP_String* error, void*) override { op_.error(error); }
    void getInfoPopupString(TD::OP_String* popup, void*) override { op_.info_popup(popup); }
    void setupParameters(TD::OP_ParameterManager* manager, void*) override {
        op_.setup_parameters(manager);
    }
    void pulsePressed(const char* name, void*) override { op_.pulse(name); }

protected:
    Operator op_;
};

}  // namespace tds

#endif  // TDS_SHIM_H
