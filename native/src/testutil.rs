//! What the crate's tests share: a small deterministic random source, the random edit of a
//! line that the "same as the pattern on mutated lines" tests apply, and Arrow string buffers.

/// Marsaglia's xorshift64: the same sequence on every run.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        self.0 = s;
        s
    }
}

/// One random edit of `line`: a byte of `alphabet` inserted, a byte deleted, or one replaced.
pub fn edit(line: &mut Vec<u8>, rng: &mut XorShift, alphabet: &[u8]) {
    let pos = (rng.next() as usize) % (line.len() + 1);
    let ch = alphabet[(rng.next() as usize) % alphabet.len()];
    match rng.next() % 3 {
        0 => line.insert(pos, ch),
        1 if pos < line.len() => {
            line.remove(pos);
        }
        _ if pos < line.len() => line[pos] = ch,
        _ => {}
    }
}

/// The offsets and data buffers of an Arrow string column holding `values`.
pub fn strings(values: &[&str]) -> (Vec<i32>, Vec<u8>) {
    let mut off = vec![0i32];
    let mut data = Vec::new();
    for v in values {
        data.extend_from_slice(v.as_bytes());
        off.push(data.len() as i32);
    }
    (off, data)
}

/// A string column of ``values`` (None: null) as Arrow lays it out: i32 offsets, data, validity
/// bitmap (LSB first).
pub fn nullable_strings(values: &[Option<&str>]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (mut off, mut data, mut valid) = (vec![0u8; 4], Vec::new(), vec![0u8; values.len().div_ceil(8)]);
    for (i, v) in values.iter().enumerate() {
        if let Some(s) = v {
            data.extend_from_slice(s.as_bytes());
            valid[i / 8] |= 1 << (i % 8);
        }
        off.extend_from_slice(&(data.len() as i32).to_le_bytes());
    }
    (off, data, valid)
}
