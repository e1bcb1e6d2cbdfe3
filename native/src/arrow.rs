//! Arrow string columns built in Rust: offsets, data and validity buffers, handed to Python as
//! bytes and wrapped there with `pa.StringArray.from_buffers` (no copy on the Python side).

use crate::engine::Cell;

pub struct StringColumn {
    pub offsets: Vec<u8>, // n + 1 little-endian i32
    pub data: Vec<u8>,
    pub validity: Vec<u8>, // LSB-first bitmap, 1 = valid
    pub nulls: usize,
}

pub fn build(cells: &[Cell]) -> Result<StringColumn, String> {
    let n = cells.len();
    let size: usize = cells.iter().map(|c| if let Cell::Value(v) = c { v.len() } else { 0 }).sum();
    if size > i32::MAX as usize {
        return Err("a batch's captured text exceeds 2 GiB".into());
    }
    let mut offsets = Vec::with_capacity((n + 1) * 4);
    let mut data = Vec::with_capacity(size);
    let mut validity = vec![0u8; n.div_ceil(8)];
    let mut nulls = 0;
    offsets.extend_from_slice(&0i32.to_le_bytes());
    for (i, c) in cells.iter().enumerate() {
        match c {
            Cell::Absent => nulls += 1,
            Cell::Value(v) => {
                data.extend_from_slice(v);
                validity[i / 8] |= 1 << (i % 8);
            }
        }
        offsets.extend_from_slice(&(data.len() as i32).to_le_bytes());
    }
    Ok(StringColumn { offsets, data, validity, nulls })
}

/// Little-endian i32 offsets from the bytes of an Arrow offsets buffer.
pub fn offsets(raw: &[u8]) -> Vec<i32> {
    raw.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_empties_and_values() {
        let cells = [Cell::Value(b"ab"), Cell::Absent, Cell::Value(b""), Cell::Value(b"c")];
        let col = build(&cells).unwrap();
        assert_eq!(offsets(&col.offsets), vec![0, 2, 2, 2, 3]);
        assert_eq!(col.data, b"abc");
        assert_eq!(col.validity, vec![0b1101]);
        assert_eq!(col.nulls, 1);
    }
}
