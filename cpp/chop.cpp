// chop.cpp: the CPlusPlus CHOP — one sample per channel per cook (MIT OR Apache-2.0).
#include "shim.h"

namespace tds {

using namespace TD;

namespace {

class SpotifyChop final : public Forwarding<CHOP_CPlusPlusBase> {
public:
    SpotifyChop() : Forwarding(TDS_FAMILY_CHOP) {}
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
        op_.read_parameters(inputs);
        push_audio(inputs);
        op_.cook();
        if (!output || !output->channels) {
            return;
        }
        td_spotify_write_channels(op_.instance(), output->channels, output->numChannels, output->numSamples);
    }


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
};

}  // namespace

void fill_chop_plugin_info(CHOP_PluginInfo* info) {
    if (!declare_api_version(*info, TDS_FAMILY_CHOP)) {
        return;
    }
    describe_operator(info->customOPInfo, TDS_FAMILY_CHOP);
}

CHOP_CPlusPlusBase* new_chop(const OP_NodeInfo*) { return new SpotifyChop(); }

void delete_chop(CHOP_CPlusPlusBase* op) { delete static_cast<SpotifyChop*>(op); }

}  // namespace tds
