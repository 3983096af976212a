// dat.cpp: the CPlusPlus DAT — a `field | value` table of what is playing (MIT OR Apache-2.0).
#include "shim.h"

namespace tds {

using namespace TD;

namespace {

class SpotifyDat final : public Forwarding<DAT_CPlusPlusBase> {
public:
    SpotifyDat() : Forwarding(TDS_FAMILY_DAT) { cell_[0] = '\0'; }
    ~SpotifyDat() override = default;

    void getGeneralInfo(DAT_GeneralInfo* info, const OP_Inputs*, void*) override {
        info->cookEveryFrame = false;
        info->cookEveryFrameIfAsked = true;
    }

    void execute(DAT_Output* output, const OP_Inputs* inputs, void*) override {
        op_.push_parameters(inputs);
        op_.cook();
        if (!output) {
            return;
        }
        output->setOutputDataType(DAT_OutDataType::Table);
        uint32_t rows = 0;
        uint32_t cols = 0;
        td_spotify_table_size(op_.instance(), &rows, &cols);
        output->setTableSize(static_cast<int32_t>(rows), static_cast<int32_t>(cols));
        for (uint32_t r = 0; r < rows; ++r) {
            for (uint32_t c = 0; c < cols; ++c) {
                td_spotify_table_cell(op_.instance(), r, c, cell_, sizeof cell_);
                output->setCellString(static_cast<int32_t>(r), static_cast<int32_t>(c), cell_);
            }
        }
    }


private:
    // One cell at a time; long enough for any URL or name the engine keeps.
    char cell_[4096];
};

}  // namespace

void fill_dat_plugin_info(DAT_PluginInfo* info) {
    if (!declare_api_version(*info, TDS_FAMILY_DAT)) {
        return;
    }
    describe_operator(info->customOPInfo, "Tdspotifydat", "Spotify DAT", "SPD", 0);
}

DAT_CPlusPlusBase* new_dat(const OP_NodeInfo*) { return new SpotifyDat(); }

void delete_dat(DAT_CPlusPlusBase* op) { delete static_cast<SpotifyDat*>(op); }

}  // namespace tds
