//! The DAT output: the table of the mode in use, cell by cell or all at once.

use std::ffi::{c_char, CStr, CString};

use super::Operator;
use crate::schema::{
    DatMode, DEVICE_COLUMNS, PALETTE_COLUMNS, QUEUE_COLUMNS, RECENT_COLUMNS, ROWS, STATUS_FIELDS,
    VISITOR_COLUMNS,
};

impl Operator {
    /// Number of table rows and columns of the DAT output (header row included).
    pub fn table_size(&self) -> (usize, usize) {
        match self.settings.dat_mode {
            DatMode::NowPlaying => (ROWS.len() + 1, 2),
            DatMode::Status => (STATUS_FIELDS.len() + 1, 2),
            mode => {
                let (columns, body) = self.list(mode);
                (body.len() + 1, columns.len())
            }
        }
    }

    /// The header and body of a multi-row mode.
    fn list(&self, mode: DatMode) -> (&'static [&'static CStr], &[Vec<CString>]) {
        let lists = &self.pinned.lists;
        match mode {
            DatMode::Queue => (QUEUE_COLUMNS, &lists.queue),
            DatMode::Recent => (RECENT_COLUMNS, &lists.recent),
            DatMode::Palette => (PALETTE_COLUMNS, &self.pinned.art.table),
            DatMode::Visitors => (VISITOR_COLUMNS, self.jukebox_view().map_or(&[][..], |v| &v.visitors)),
            _ => (DEVICE_COLUMNS, &lists.devices),
        }
    }

    /// One cell of the DAT output (row 0 is the header).
    pub fn table_cell(&self, row: usize, col: usize) -> Option<&CStr> {
        match self.settings.dat_mode {
            DatMode::NowPlaying => {
                field_value(row, col, |r| ROWS.get(r).map(|r| r.c_name), &self.pinned.rows)
            }
            DatMode::Status => {
                field_value(row, col, |r| STATUS_FIELDS.get(r).copied(), &self.pinned.status_rows)
            }
            mode => {
                let (columns, body) = self.list(mode);
                match row {
                    0 => columns.get(col).copied(),
                    r => body.get(r - 1).and_then(|cells| cells.get(col)).map(|c| c.as_c_str()),
                }
            }
        }
    }

    /// Points `out` at the table's cells from cell `first` on (row-major, header included);
    /// returns how many it set. Missing cells are empty strings. The pointers live as long as
    /// the pinned snapshot: until the next cook.
    pub fn table_cells(&self, first: usize, out: &mut [*const c_char]) -> usize {
        let (rows, cols) = self.table_size();
        let end = (rows * cols).min(first.saturating_add(out.len()));
        if first >= end {
            return 0;
        }
        let two_columns = match self.settings.dat_mode {
            DatMode::NowPlaying => Some((&self.pinned.rows, false)),
            DatMode::Status => Some((&self.pinned.status_rows, true)),
            _ => None,
        };
        match two_columns {
            // The whole `Now playing` table at once (what a cook asks for): a straight walk.
            Some((values, false)) if first == 0 && values.len() == ROWS.len() && out.len() >= end => {
                out[0] = c"field".as_ptr();
                out[1] = c"value".as_ptr();
                for ((pair, spec), value) in out[2..].chunks_exact_mut(2).zip(ROWS).zip(values.iter()) {
                    pair[0] = spec.c_name.as_ptr();
                    pair[1] = value.as_ptr();
                }
            }
            // The other `field | value` cells: no lookup per cell either.
            Some((values, status)) => {
                for (slot, cell) in out.iter_mut().zip(first..end) {
                    let (row, col) = (cell / 2, cell % 2);
                    let text = match (row, col) {
                        (0, 0) => c"field",
                        (0, _) => c"value",
                        (r, 0) if status => STATUS_FIELDS.get(r - 1).copied().unwrap_or(c""),
                        (r, 0) => ROWS.get(r - 1).map_or(c"", |spec| spec.c_name),
                        (r, _) => values.get(r - 1).map_or(c"", |v| v.as_c_str()),
                    };
                    *slot = text.as_ptr();
                }
            }
            None => {
                for (slot, cell) in out.iter_mut().zip(first..end) {
                    *slot = self.table_cell(cell / cols, cell % cols).unwrap_or(c"").as_ptr();
                }
            }
        }
        end - first
    }
}

/// A cell of a two-column `field | value` table with a header row; `name(i)` is row `i`'s field
/// (indexed, not walked: a cook asks for every cell).
fn field_value(
    row: usize,
    col: usize,
    name: impl Fn(usize) -> Option<&'static CStr>,
    values: &[CString],
) -> Option<&CStr> {
    match (row, col) {
        (0, 0) => Some(c"field"),
        (0, 1) => Some(c"value"),
        (r, 0) => name(r - 1),
        (r, 1) => values.get(r - 1).map(|v| v.as_c_str()),
        _ => None,
    }
}
