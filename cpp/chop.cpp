// chop.cpp: the CPlusPlus CHOP — one sample per channel per cook (MIT OR Apache-2.0).
#include "shim.h"

namespace tds {

using namespace TD;

namespace {

class SpotifyChop final : public CHOP_CPlusPlusBase {
public:
    SpotifyChop() : op_(TDS_FAMILY_CHOP) {}
    ~SpotifyChop() override = default;

    void getGeneralInfo(CHOP_GeneralInfo* info, const OP_Inputs*, void*) override {
        // Live external data: cook every frame, but only while something uses the output.
        info->cookEveryFrame = false;
        info->cookEveryFrameIfAsked = true;
        info->timeslice = false;
        info->inputMatchIndex = 0;
    }

    bool getOutputInfo(CHOP_OutputInfo* info, const OP_Inputs*, void*) override {
        // Our own channels, whatever is wired into the (audio) input.
        info->numChannels = static_cast<int32_t>(td_spotify_channel_count());
        info->numSamples = 1;
        info->startIndex = 0;
        return true;
    }

    void getChannelName(int32_t index, OP_String* name, const OP_Inputs*, void*) override {
        const char* n = index >= 0 ? td_spotify_channel_name(static_cast<uint32_t>(index)) : nullptr;
        if (name && n) {
            name->setString(n);
        }
    }

    void execute(CHOP_Output* output, const OP_Inputs* inputs, void*) override {
        op_.push_parameters(inputs);
        push_audio(inputs);
        op_.cook();
        if (!output || !output->channels) {
            return;
        }
        float values[TDS_MAX_CHANNELS];
        const uint32_t n = td_spotify_channels(op_.instance(), values, TDS_MAX_CHANNELS);
        for (int32_t c = 0; c < output->numChannels; ++c) {
            const float v = static_cast<uint32_t>(c) < n ? values[c] : 0.0f;
            float* samples = output->channels[c];
            for (int32_t s = 0; samples && s < output->numSamples; ++s) {
                samples[s] = v;
            }
        }
    }

    int32_t getNumInfoCHOPChans(void*) override { return op_.info_count(); }
    void getInfoCHOPChan(int32_t index, OP_InfoCHOPChan* chan, void*) override {
        op_.info_chan(index, chan);
    }
    bool getInfoDATSize(OP_InfoDATSize* size, void*) override { return op_.info_dat_size(size); }
    void getInfoDATEntries(int32_t index, int32_t n, OP_InfoDATEntries* entries, void*) override {
        op_.info_dat_entries(index, n, entries);
    }
    void getWarningString(OP_String* warning, void*) override { op_.warning(warning); }
    void getErrorString(OP_String* error, void*) override { op_.error(error); }
    void getInfoPopupString(OP_String* popup, void*) override { op_.info_popup(popup); }
    void setupParameters(OP_ParameterManager* manager, void*) override {
        op_.setup_parameters(manager);
    }
    void pulsePressed(const char* name, void*) override { op_.pulse(name); }

private:
    // An audio CHOP wired into the input feeds the beat tracker.
    void push_audio(const OP_Inputs* inputs) const {
        if (!inputs || inputs->getNumInputs() < 1) {
            return;
        }
        const OP_CHOPInput* in = inputs->getInputCHOP(0);
        if (!in || !in->channelData || in->numChannels <= 0 || in->numSamples <= 0) {
            return;
        }
        td_spotify_push_audio(op_.instance(), in->channelData, static_cast<uint32_t>(in->numChannels),
                              static_cast<uint32_t>(in->numSamples), in->sampleRate);
    }

    Operator op_;
};

}  // namespace

void fill_chop_plugin_info(CHOP_PluginInfo* info) {
    info->apiVersion = kChopApiVersion;
    // opType: first letter A-Z, then a-z/0-9 only, or TouchDesigner refuses to register it.
    describe_operator(info->customOPInfo, "Tdspotify", "Spotify", "SPT", 1);
}

CHOP_CPlusPlusBase* new_chop(const OP_NodeInfo*) { return new SpotifyChop(); }

void delete_chop(CHOP_CPlusPlusBase* op) { delete static_cast<SpotifyChop*>(op); }

}  // namespace tds
