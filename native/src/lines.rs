//! A block's bytes cut into lines for an Arrow string array (`analyzer/lines.py`'s
//! `block_array`): the newlines taken out, one offset per line. Linear in the bytes.

/// (offsets as little-endian i32, the bytes without their newlines, whether a NUL byte is in
/// it), or None where Python cuts the block its own way: empty, 2 GiB or more, a CR in it, or
/// not UTF-8. A last line without a newline is a line. One pass finds the newlines, CRs and NULs.
pub fn split_lines(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>, bool)> {
    if data.is_empty() || data.len() >= (1 << 31) {
        return None;
    }
    std::str::from_utf8(data).ok()?;
    let mut offsets = Vec::with_capacity(4 * (data.len() / 64 + 2));
    let mut body = Vec::with_capacity(data.len());
    offsets.extend_from_slice(&0i32.to_le_bytes());
    let mut start = 0;
    let mut nul = false;
    for at in memchr::memchr3_iter(b'\n', b'\r', 0, data) {
        match data[at] {
            b'\n' => {
                body.extend_from_slice(&data[start..at]);
                offsets.extend_from_slice(&(body.len() as i32).to_le_bytes());
                start = at + 1;
            }
            b'\r' => return None,
            _ => nul = true,
        }
    }
    if start < data.len() {
        body.extend_from_slice(&data[start..]);
        offsets.extend_from_slice(&(body.len() as i32).to_le_bytes());
    }
    Some((offsets, body, nul))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8]) -> Option<Vec<String>> {
        let (off, body, _) = split_lines(data)?;
        let off = crate::arrow::offsets(&off);
        Some(off.windows(2).map(|w| String::from_utf8(body[w[0] as usize..w[1] as usize].to_vec()).unwrap()).collect())
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
