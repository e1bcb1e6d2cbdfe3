//! Arrow column builders for the Exim row readers (`exim`): one builder per event-table type,
//! each ending as (validity, values[, data]) byte buffers that Python wraps with
//! `pa.Array.from_buffers` (see `analyzer/native_exim.py`).

/// LSB-first validity bitmap.
#[derive(Default)]
pub struct Bits {
    bytes: Vec<u8>,
    len: usize,
    pub nulls: usize,
}

impl Bits {
    /// Room for `n` bits.
    pub fn with_capacity(n: usize) -> Bits {
        Bits { bytes: Vec::with_capacity(n.div_ceil(8)), len: 0, nulls: 0 }
    }
    pub fn push(&mut self, v: bool) {
        let bit = u8::from(v) << (self.len % 8);
        match self.bytes.last_mut() {
            Some(last) if !self.len.is_multiple_of(8) => *last |= bit,
            _ => self.bytes.push(bit),
        }
        self.nulls += usize::from(!v);
        self.len += 1;
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    fn get(&self, i: usize) -> bool {
        self.bytes[i / 8] & (1 << (i % 8)) != 0
    }
    /// Append another bitmap (whole bytes when this one ends on a byte boundary).
    pub fn append(&mut self, other: &Bits) {
        if self.len.is_multiple_of(8) {
            self.bytes.extend_from_slice(&other.bytes);
            self.len += other.len;
            self.nulls += other.nulls;
            return;
        }
        for i in 0..other.len {
            self.push(other.get(i));
        }
    }
}

/// A string column: i32 offsets, data, validity.
pub struct StrCol {
    pub offsets: Vec<u8>,
    pub data: Vec<u8>,
    pub valid: Bits,
}

impl Default for StrCol {
    fn default() -> Self {
        StrCol { offsets: 0i32.to_le_bytes().to_vec(), data: Vec::new(), valid: Bits::default() }
    }
}

impl StrCol {
    pub fn append(&mut self, other: &StrCol) {
        let base = self.data.len() as i32;
        for c in other.offsets.chunks_exact(4).skip(1) {
            let v = i32::from_le_bytes([c[0], c[1], c[2], c[3]]) + base;
            self.offsets.extend_from_slice(&v.to_le_bytes());
        }
        self.data.extend_from_slice(&other.data);
        self.valid.append(&other.valid);
    }
    pub fn push(&mut self, v: Option<&[u8]>) {
        if let Some(v) = v {
            self.data.extend_from_slice(v);
        }
        self.valid.push(v.is_some());
        // the reader refuses batches over 2 GiB (see exim::read)
        self.offsets.extend_from_slice(&(self.data.len() as i32).to_le_bytes());
    }
}

/// A string column built sparse (what `exim::Columns` builds): only the rows with a value are
/// noted as they come (the row, where its text ends); [`SparseStr::finish`] lays out the
/// [`StrCol`] of all rows in one pass. Of the 24 string columns a row sets 6-10: pushed cell by
/// cell, the nulls' offsets and validity bits were a third of `exim::read`.
#[derive(Default)]
pub struct SparseStr {
    at: Vec<u32>,
    ends: Vec<i32>,
    data: Vec<u8>,
}

impl SparseStr {
    /// The value of row `row` (rows are set in increasing order; those between have none).
    pub fn set(&mut self, row: usize, v: &[u8]) {
        self.data.extend_from_slice(v);
        self.at.push(row as u32);
        // the reader refuses batches over 2 GiB (see exim::read)
        self.ends.push(self.data.len() as i32);
    }

    /// Append another column whose rows come after this one's `rows` rows.
    pub fn append(&mut self, other: &SparseStr, rows: usize) {
        let base = self.data.len() as i32;
        self.at.extend(other.at.iter().map(|&r| r + rows as u32));
        self.ends.extend(other.ends.iter().map(|&e| e + base));
        self.data.extend_from_slice(&other.data);
    }

    /// The column of `n` rows as [`StrCol`] holds it: offsets, data, validity.
    pub fn finish(self, n: usize) -> StrCol {
        let (offsets, bytes) = crate::rows::lay_out(&self.at, &self.ends, n);
        StrCol { offsets, data: self.data, valid: Bits { bytes, len: n, nulls: n - self.at.len() } }
    }
}

/// A text column of `n` rows each holding `v`, laid out whole (not set row by row: a set and the
/// column's lay-out a row, for a value known before the first row).
pub fn constant(n: usize, v: &[u8]) -> StrCol {
    let mut offsets = Vec::with_capacity(4 * (n + 1));
    (0..=n).for_each(|i| offsets.extend_from_slice(&((i * v.len()) as i32).to_le_bytes()));
    let mut bytes = vec![0xFFu8; n.div_ceil(8)];
    if n % 8 != 0 {
        bytes[n / 8] = (1u8 << (n % 8)) - 1;
    }
    StrCol { offsets, data: v.repeat(n), valid: Bits { bytes, len: n, nulls: 0 } }
}

/// A fixed-width column (int16/32/64, float64, timestamp): little-endian values, validity.
#[derive(Default)]
pub struct NumCol {
    pub values: Vec<u8>,
    pub valid: Bits,
}

impl NumCol {
    /// Room for `n` values of `width` bytes.
    pub fn with_capacity(n: usize, width: usize) -> NumCol {
        NumCol { values: Vec::with_capacity(n * width), valid: Bits::with_capacity(n) }
    }
    pub fn append(&mut self, other: &NumCol) {
        self.values.extend_from_slice(&other.values);
        self.valid.append(&other.valid);
    }
    pub fn push_i16(&mut self, v: Option<i16>) {
        self.values.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        self.valid.push(v.is_some());
    }
    pub fn push_i32(&mut self, v: Option<i32>) {
        self.values.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        self.valid.push(v.is_some());
    }
    pub fn push_i64(&mut self, v: Option<i64>) {
        self.values.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        self.valid.push(v.is_some());
    }
    pub fn push_f64(&mut self, v: Option<f64>) {
        self.values.extend_from_slice(&v.unwrap_or(0.0).to_le_bytes());
        self.valid.push(v.is_some());
    }
}

/// A boolean column: value bitmap, validity.
#[derive(Default)]
pub struct BoolCol {
    pub values: Bits,
    pub valid: Bits,
}

impl BoolCol {
    /// Room for `n` values.
    pub fn with_capacity(n: usize) -> BoolCol {
        BoolCol { values: Bits::with_capacity(n), valid: Bits::with_capacity(n) }
    }
    pub fn append(&mut self, other: &BoolCol) {
        self.values.append(&other.values);
        self.valid.append(&other.valid);
    }
    pub fn push(&mut self, v: Option<bool>) {
        self.values.push(v.unwrap_or(false));
        self.valid.push(v.is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_nulls() {
        let mut c = StrCol::default();
        c.push(Some(b"ab"));
        c.push(None);
        c.push(Some(b""));
        assert_eq!(c.data, b"ab");
        assert_eq!(c.valid.nulls, 1);
        assert_eq!(c.valid.into_bytes(), vec![0b101]);
        let offs: Vec<i32> = c.offsets.chunks(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(offs, vec![0, 2, 2, 2]);
    }

    #[test]
    fn appended_columns_equal_one_built_whole() {
        let vals: Vec<Option<&[u8]>> = (0..21).map(|i| if i % 3 == 0 { None } else { Some(&b"xyz"[..i % 4]) }).collect();
        let mut whole = StrCol::default();
        vals.iter().for_each(|v| whole.push(*v));
        let (mut a, mut b) = (StrCol::default(), StrCol::default());
        vals[..5].iter().for_each(|v| a.push(*v));
        vals[5..].iter().for_each(|v| b.push(*v));
        a.append(&b);
        assert_eq!((a.offsets, a.data, a.valid.nulls), (whole.offsets, whole.data, whole.valid.nulls));
        assert_eq!(a.valid.into_bytes(), whole.valid.into_bytes());
    }

    /// A sparse column (whole, and appended from parts cut anywhere) equals one pushed cell by cell.
    #[test]
    fn sparse_equals_pushed() {
        for n in [0usize, 1, 7, 8, 9, 17, 64, 100] {
            let vals: Vec<Option<Vec<u8>>> =
                (0..n).map(|i| (i % 3 != 1 && i % 5 != 0).then(|| b"abcdefg"[..(i * 7) % 8].to_vec())).collect();
            let mut pushed = StrCol::default();
            vals.iter().for_each(|v| pushed.push(v.as_deref()));
            let whole = |vals: &[Option<Vec<u8>>]| {
                let mut s = SparseStr::default();
                vals.iter().enumerate().for_each(|(i, v)| if let Some(v) = v { s.set(i, v) });
                s
            };
            let same = |c: StrCol, p: &StrCol| {
                assert_eq!((&c.offsets, &c.data, c.valid.nulls, c.valid.len), (&p.offsets, &p.data, p.valid.nulls, p.valid.len));
                assert_eq!(c.valid.as_bytes(), p.valid.as_bytes());
            };
            same(whole(&vals).finish(n), &pushed);
            for cut in 0..=n {
                let mut a = whole(&vals[..cut]);
                a.append(&whole(&vals[cut..]), cut);
                same(a.finish(n), &pushed);
            }
        }
    }

    /// A constant column equals one pushed cell by cell.
    #[test]
    fn constant_equals_pushed() {
        for n in [0usize, 1, 7, 8, 9, 17, 64, 100] {
            let mut pushed = StrCol::default();
            (0..n).for_each(|_| pushed.push(Some(b"exim")));
            let c = constant(n, b"exim");
            assert_eq!((&c.offsets, &c.data, c.valid.nulls, c.valid.len), (&pushed.offsets, &pushed.data, 0, n));
            assert_eq!(c.valid.as_bytes(), pushed.valid.as_bytes());
        }
    }

    #[test]
    fn bools_keep_value_and_validity_apart() {
        let mut b = BoolCol::default();
        b.push(Some(true));
        b.push(Some(false));
        b.push(None);
        assert_eq!(b.values.into_bytes(), vec![0b001]);
        assert_eq!(b.valid.into_bytes(), vec![0b011]);
    }
}
