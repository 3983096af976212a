// dat.cpp: the CPlusPlus DAT — a `field | value` table of what is playing (MIT OR Apache-2.0).
#include "shim.h"

namespace tds {

using namespace TD;

namespace {

class SpotifyDat final : public Forwarding<DAT_CPlusPlusBase> {
public:
    SpotifyDat() : Forwarding(TDS_FAMILY_DAT) {}
    ~SpotifyDat() override = default;

    void getGeneralInfo(DAT_GeneralInfo* info, const OP_Inputs*, void*) override {
        info->cookEveryFrame = false;
        info->cookEveryFrameIfAsked = true;
    }

    void execute(DAT_Output* output, const OP_Inputs* inputs, void*) override {
        op_.read_parameters(inputs);
        op_.cook();
        if (!output) {
            return;
        }
        output->setOutputDataType(DAT_OutDataType::Table);
        uint32_t rows = 0;
        uint32_t cols = 0;
        td_spotify_table_size(op_.instance(), &rows, &cols);
        output->setTableSize(static_cast<int32_t>(rows), static_cast<int32_t>(cols));
        // The cells are the engine's own strings (valid until the next cook): no copy, and
        // one call for a whole `Now playing` table.
        const uint32_t cells = rows * cols;
        int32_t r = 0;
        int32_t c = 0;
        for (uint32_t first = 0; first < cells;) {
            const uint32_t n = td_spotify_table_cells(op_.instance(), first, cells_, kCells);
            if (n == 0) {
                break;
            }
            for (uint32_t k = 0; k < n; ++k) {
                output->setCellString(r, c, cells_[k]);
                if (++c == static_cast<int32_t>(cols)) {
                    c = 0;
                    ++r;
                }
            }
            first += n;
        }
    }

private:
    // Cell pointers of one batch; a `Now playing` table fits in one.
    static constexpr uint32_t kCells = 256;
    const char* cells_[kCells];
};

}  // namespace

void fill_dat_plugin_info(DAT_PluginInfo* info) {
    if (!declare_api_version(*info, TDS_FAMILY_DAT)) {
        return;
    }
    describe_operator(info->customOPInfo, TDS_FAMILY_DAT);
}

DAT_CPlusPlusBase* new_dat(const OP_NodeInfo*) { return new SpotifyDat(); }

void delete_dat(DAT_CPlusPlusBase* op) { delete static_cast<SpotifyDat*>(op); }

}  // namespace tds
