//! A block's bytes cut into lines for an Arrow string array (`analyzer/lines.py`'s
//! `block_array`): the newlines taken out, one offset per line. Linear in the bytes.

/// (offsets as little-endian i32, the bytes without their newlines, whether a NUL byte is in
/// it), or None where Python cuts the block its own way: empty, 2 GiB or more, a CR in it, or
/// not UTF-8. A last line without a newline is a line. One pass finds the newlines, CRs and NULs.
pub fn split_lines(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>, bool)> {
    if data.is_empty() || data.len() >= (1 << 31) {
        return None;
    }
    utf8(data).ok()?;
    let mut offsets = Vec::with_capacity(4 * (data.len() / 64 + 2));
    let mut body = Vec::with_capacity(data.len());
    offsets.extend_from_slice(&0i32.to_le_bytes());
    let mut nul = false;
    cut(data, &mut body, &mut offsets, &mut nul)?;
    if data.last() != Some(&b'\n') {
        offsets.extend_from_slice(&(body.len() as i32).to_le_bytes());
    }
    Some((offsets, body, nul))
}

/// `data`'s bytes but its newlines appended to `body`, an offset appended to `offsets` at each
/// newline (the bytes after the last one continue a line the next bytes may end); `nul` set
/// where a NUL byte is among them. None at a CR. The CR and the NUL are looked for first, each
/// by one `memchr` over the whole of `data` (a chunk in cache: a block has neither, and one
/// search of a byte runs at many bytes a cycle), then the newlines by a search of one byte, not
/// of three at each line.
fn cut(data: &[u8], body: &mut Vec<u8>, offsets: &mut Vec<u8>, nul: &mut bool) -> Option<()> {
    if memchr::memchr(b'\r', data).is_some() {
        return None;
    }
    if !*nul && memchr::memchr(0, data).is_some() {
        *nul = true;
    }
    let mut start = 0;
    for at in memchr::memchr_iter(b'\n', data) {
        body.extend_from_slice(&data[start..at]);
        offsets.extend_from_slice(&(body.len() as i32).to_le_bytes());
        start = at + 1;
    }
    body.extend_from_slice(&data[start..]);
    Some(())
}

/// Whether `data` is UTF-8: ASCII first (a word-at-a-time test, the logs' usual case), the full
/// check only where a byte is not.
fn utf8(data: &[u8]) -> Result<(), std::str::Utf8Error> {
    if data.is_ascii() {
        return Ok(());
    }
    std::str::from_utf8(data).map(|_| ())
}

/// Bytes read from a file at a time by [`read_lines`]: the chunk stays in cache while it is
/// checked, scanned and copied into the body.
pub const READ_CHUNK: usize = 256 << 10;

/// [`split_lines`] of bytes `start..end` of `file` (as many as it has up to `end`), read in
/// [`READ_CHUNK`]s: each chunk is checked as UTF-8 (a sequence cut by the chunk's end carried to
/// the next), scanned for newlines, CRs and NULs and copied into the body while it is in cache,
/// instead of the range read whole into memory first and then read again, twice, from there.
/// Returns (offsets, body, whether a NUL is in it, the bytes read), or None where
/// [`split_lines`] gives None (nothing read, 2 GiB or more, a CR, not UTF-8). Linear in the bytes.
pub fn read_lines(file: &mut impl std::io::Read, len: u64) -> std::io::Result<Option<(Vec<u8>, Vec<u8>, bool, usize)>> {
    if len >= (1 << 31) {
        return Ok(None);
    }
    let len = len as usize;
    let mut offsets = Vec::with_capacity(4 * (len / 64 + 2));
    let mut body = Vec::with_capacity(len);
    offsets.extend_from_slice(&0i32.to_le_bytes());
    let mut buf = vec![0u8; READ_CHUNK.min(len) + 4];
    let (mut carry, mut total, mut nul, mut last) = (0usize, 0usize, false, b'\n');
    while total < len {
        let want = (len - total).min(READ_CHUNK);
        let n = match file.read(&mut buf[carry..carry + want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n;
        let fresh = &buf[carry..carry + n];
        if cut(fresh, &mut body, &mut offsets, &mut nul).is_none() {
            return Ok(None);
        }
        last = fresh[n - 1];
        // UTF-8 over the carried bytes and this chunk; an incomplete sequence at its end waits
        // for the next chunk (at most 3 bytes)
        let seen = carry + n;
        carry = match utf8(&buf[..seen]) {
            Ok(_) => 0,
            Err(e) if e.error_len().is_none() => seen - e.valid_up_to(),
            Err(_) => return Ok(None),
        };
        buf.copy_within(seen - carry..seen, 0);
    }
    if total == 0 || carry > 0 {
        return Ok(None);
    }
    if last != b'\n' {
        offsets.extend_from_slice(&(body.len() as i32).to_le_bytes());
    }
    Ok(Some((offsets, body, nul, total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// read_lines of `data` through a reader that gives at most `step` bytes a call (chunks
    /// cut anywhere), against split_lines of the same bytes
    fn same_as_split(data: &[u8], step: usize) {
        struct Dribble<'a>(&'a [u8], usize);
        impl std::io::Read for Dribble<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(out.len()).min(self.1);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let got = read_lines(&mut Dribble(data, step), data.len() as u64).unwrap();
        let want = split_lines(data);
        assert_eq!(got.as_ref().map(|(o, b, n, t)| (o.clone(), b.clone(), *n, *t)),
                   want.map(|(o, b, n)| (o, b, n, data.len())), "{data:?} step {step}");
    }

    #[test]
    fn read_lines_cuts_as_split_lines_wherever_the_reads_end() {
        let mut big = Vec::new();
        for i in 0..40_000u32 {
            big.extend_from_slice(format!("line {i} é€😀 {}\n", "x".repeat((i % 97) as usize)).as_bytes());
        }
        let cases: Vec<Vec<u8>> = vec![
            b"a\nbc\n".to_vec(), b"a\n\nbc".to_vec(), b"\n".to_vec(), "é\n€x".as_bytes().to_vec(),
            b"a\n\0b\n".to_vec(), b"a\nb\r".to_vec(), b"a\xff\nb\n".to_vec(), b"\xc3\n\xa9".to_vec(),
            b"ab\xc3".to_vec(), "😀".as_bytes().to_vec(), b"".to_vec(), big.clone(),
            [&big[..], b"\xe2\x82"].concat(), [&big[..], b"tail"].concat(),
        ];
        for data in &cases {
            for step in [1, 2, 3, 5, 4096, READ_CHUNK, usize::MAX] {
                same_as_split(data, step);
            }
        }
    }

    #[test]
    fn read_lines_stops_at_the_length_or_the_end() {
        let data = b"ab\ncd\nef\n";
        let (off, body, _, n) = read_lines(&mut &data[..], 6).unwrap().unwrap();
        assert_eq!((crate::arrow::offsets(&off), body, n), (vec![0, 2, 4], b"abcd".to_vec(), 6));
        let (_, body, _, n) = read_lines(&mut &data[..], 100).unwrap().unwrap();
        assert_eq!((body, n), (b"abcdef".to_vec(), 9));
        assert!(read_lines(&mut &data[..], 0).unwrap().is_none());
    }

    fn lines(data: &[u8]) -> Option<Vec<String>> {
        let (off, body, _) = split_lines(data)?;
        let off = crate::arrow::offsets(&off);
        Some(off.windows(2).map(|w| String::from_utf8(body[w[0] as usize..w[1] as usize].to_vec()).unwrap()).collect())
    }

    /// The cut written plainly: a byte at a time, the whole input checked as UTF-8 first.
    fn plain_split(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>, bool)> {
        if data.is_empty() || std::str::from_utf8(data).is_err() || data.contains(&b'\r') {
            return None;
        }
        let (mut offsets, mut body) = (0i32.to_le_bytes().to_vec(), Vec::new());
        for &b in data {
            if b == b'\n' {
                offsets.extend_from_slice(&(body.len() as i32).to_le_bytes());
            } else {
                body.push(b);
            }
        }
        if data.last() != Some(&b'\n') {
            offsets.extend_from_slice(&(body.len() as i32).to_le_bytes());
        }
        Some((offsets, body, data.contains(&0)))
    }

    #[test]
    fn cuts_random_bytes_as_the_plain_cut() {
        // newlines, CRs, NULs, ASCII, whole and cut UTF-8 sequences and invalid bytes, at random
        let pieces: [&[u8]; 10] = [b"\n", b"\r", b"\0", b"a", b"postfix/smtpd[1]: ", "é".as_bytes(), "€".as_bytes(),
                                   "😀".as_bytes(), b"\xc3", b"\xff"];
        let mut rng = crate::testutil::XorShift(0x9E37_79B9_7F4A_7C15);
        let (mut ok, mut none) = (0, 0);
        for round in 0..3000 {
            let n = (rng.next() % 400) as usize;
            let mut data = Vec::new();
            for _ in 0..n {
                // a CR, an invalid byte or a cut sequence only in one input of four: most are cut, not refused
                let k = (rng.next() % 100) as usize;
                let piece = match k { 0 if round % 4 == 0 => 1, 1 if round % 4 == 0 => 8, 2 if round % 4 == 0 => 9,
                                      0..=5 => 2, 6..=20 => 0, 21..=24 => 5, 25..=27 => 6, 28 => 7, 29..=60 => 3, _ => 4 };
                data.extend_from_slice(pieces[piece]);
            }
            let want = plain_split(&data);
            assert_eq!(split_lines(&data), want, "round {round}: {data:?}");
            let step = [1, 3, 7, 64, usize::MAX][round % 5];
            same_as_split(&data, step);
            if want.is_some() { ok += 1 } else { none += 1 }
        }
        assert!(ok > 1000 && none > 300, "{ok} cut, {none} refused");
    }

    #[test]
    fn cuts_at_newlines_last_line_with_or_without_one() {
        assert_eq!(lines(b"a\nbc\n").unwrap(), vec!["a", "bc"]);
        assert_eq!(lines(b"a\n\nbc").unwrap(), vec!["a", "", "bc"]);
        assert_eq!(lines(b"\n").unwrap(), vec![""]);
        assert_eq!(lines("é\n€x".as_bytes()).unwrap(), vec!["é", "€x"]);
    }

    #[test]
    fn tells_whether_a_nul_is_in_the_block() {
        assert!(!split_lines(b"a\nbc\n").unwrap().2);
        assert!(split_lines(b"a\n\0b\n").unwrap().2);
        assert!(split_lines(b"a\nb\0").unwrap().2);
        assert_eq!(lines(b"a\0\nb\n").unwrap(), vec!["a\0", "b"]);
    }

    #[test]
    fn leaves_cr_bad_utf8_and_empty_to_python() {
        assert!(split_lines(b"a\nb\r").is_none());
        assert!(split_lines(b"\0\ra\n").is_none());
        assert!(split_lines(b"").is_none());
        assert!(split_lines(b"a\r\nb\n").is_none());
        assert!(split_lines(b"a\xff\nb\n").is_none());
    }
}
