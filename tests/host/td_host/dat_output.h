// td_host/dat_output.h: the table a DAT cooks into. Part of td_host.h.
#ifndef TDS_TD_HOST_DAT_OUTPUT_H
#define TDS_TD_HOST_DAT_OUTPUT_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <string>
#include <vector>

#include "td_abi.h"
#include "td_spotify.h"
#include "basics.h"

namespace host {

using namespace TD;

// ---------------------------------------------------------------------------------------------

class HostDatOutput final : public DAT_Output {
public:
    static constexpr int kMaxRows = 128;
    static constexpr int kMaxCols = 10;  // the queue's 8 columns, with room
    static constexpr int kCell = 1024;

    DAT_OutDataType type = DAT_OutDataType::Text;
    int32_t rows = 0;
    int32_t cols = 0;
    int bad_calls = 0;
    char cells[kMaxRows][kMaxCols][kCell];

    void setOutputDataType(DAT_OutDataType t) override { type = t; }
    DAT_OutDataType getOutputDataType() override { return type; }
    void setTableSize(int32_t r, int32_t c) override {
        if (r < 0 || c < 0 || r > kMaxRows || c > kMaxCols) {
            ++bad_calls;
            r = c = 0;
        }
        rows = r;
        cols = c;
        for (int32_t i = 0; i < rows; ++i) {
            for (int32_t j = 0; j < cols; ++j) {
                cells[i][j][0] = '\0';
            }
        }
    }
    void getTableSize(int32_t* r, int32_t* c) override {
        *r = rows;
        *c = cols;
    }
    bool setText(const char*) override {
        ++bad_calls;
        return false;
    }
    int32_t findRow(const char* name, int32_t) override {
        for (int32_t i = 0; name && i < rows; ++i) {
            if (cols > 0 && strcmp(cells[i][0], name) == 0) {
                return i;
            }
        }
        return -1;
    }
    int32_t findCol(const char* name, int32_t) override {
        for (int32_t j = 0; name && j < cols; ++j) {
            if (rows > 0 && strcmp(cells[0][j], name) == 0) {
                return j;
            }
        }
        return -1;
    }
    bool setCellString(int32_t r, int32_t c, const char* s) override {
        if (type != DAT_OutDataType::Table || r < 0 || c < 0 || r >= rows || c >= cols || !s) {
            ++bad_calls;
            return false;
        }
        strncpy(cells[r][c], s, kCell - 1);
        cells[r][c][kCell - 1] = '\0';
        return true;
    }
    bool setCellInt(int32_t, int32_t, int32_t) override { return ++bad_calls, false; }
    bool setCellDouble(int32_t, int32_t, double) override { return ++bad_calls, false; }
    const char* getCellString(int32_t r, int32_t c) override {
        return (r >= 0 && c >= 0 && r < rows && c < cols) ? cells[r][c] : nullptr;
    }
    bool getCellInt(int32_t, int32_t, int32_t*) override { return false; }
    bool getCellDouble(int32_t, int32_t, double*) override { return false; }

    // Index of the header cell `name` in row 0, or -1.
    int col(const char* name) const {
        for (int32_t j = 0; j < cols; ++j) {
            if (rows > 0 && strcmp(cells[0][j], name) == 0) {
                return j;
            }
        }
        return -1;
    }

    // Value of the `field | value` row named `field`, or null.
    const char* value(const char* field) const {
        for (int32_t i = 1; i < rows; ++i) {
            if (cols >= 2 && strcmp(cells[i][0], field) == 0) {
                return cells[i][1];
            }
        }
        return nullptr;
    }
};

}  // namespace host

#endif  // TDS_TD_HOST_DAT_OUTPUT_H
