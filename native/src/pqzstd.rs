//! Parquet column chunks of text compressed with zstd, beside `pqdict.rs`'s uncompressed ones
//! (`analyzer/parquet_dict.py` writes the page headers and the chunk's metadata): the pages of
//! a dictionary-encoded chunk (`pqdict::from_texts` / `from_codes`) each compressed as Arrow's
//! writer compresses them, and the v1 data pages of a chunk of plain text (no dictionary: ids,
//! addresses, free text): per page of at most `page_rows` rows (cut once its values reach
//! `page_bytes`, as Arrow's pages are), the definition levels
//! (length-prefixed, RLE / bit-packed hybrid) and the PLAIN values (each value's length, 4 bytes
//! little-endian, then its bytes), the whole page compressed. Linear in the rows and the bytes.

use crate::pqdict::{plain_word, Rows, Texts, ValidRows};
use crate::pqlevels::{page_body, Levels};

/// A page body as written (compressed, or as it is without a codec) and its size before.
#[derive(Debug, PartialEq)]
pub struct Page {
    pub body: Vec<u8>,
    pub size: usize,
    pub rows: usize,
}

/// Page bodies compressed at one zstd level (None: left as they are), one context for all. The
/// context is taken from its thread's (made once a thread and level, [`KEPT`]) and given back
/// when dropped: a row group's ~20 compressed columns a chunk each no longer make and set up
/// a context (and fault in its tables) each.
pub struct Squeeze(Option<(i32, zstd::bulk::Compressor<'static>)>);

/// Contexts a thread keeps between chunks, at most this many levels.
const KEPT_LEVELS: usize = 2;

thread_local! {
    /// The thread's contexts given back, by level (`compress` starts each page's frame anew:
    /// what a context holds between pages is its tables' room, not their contents).
    static KEPT: std::cell::RefCell<Vec<(i32, zstd::bulk::Compressor<'static>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Squeeze {
    pub fn new(level: Option<i32>) -> Result<Squeeze, String> {
        let Some(l) = level else { return Ok(Squeeze(None)) };
        let kept = KEPT.try_with(|k| k.try_borrow_mut().ok().and_then(|mut k| k.iter().position(|c| c.0 == l).map(|i| k.swap_remove(i))));
        match kept.ok().flatten() {
            Some(c) => Ok(Squeeze(Some(c))),
            None => zstd::bulk::Compressor::new(l).map(|c| Squeeze(Some((l, c)))).map_err(|e| format!("zstd: {e}")),
        }
    }

    pub fn page(&mut self, body: Vec<u8>, rows: usize) -> Result<Page, String> {
        let size = body.len();
        match &mut self.0 {
            None => Ok(Page { body, size, rows }),
            Some((_, c)) => Ok(Page { body: c.compress(&body).map_err(|e| format!("zstd: {e}"))?, size, rows }),
        }
    }
}

impl Drop for Squeeze {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            // (a thread being torn down, or a full pool: the context is dropped)
            let _ = KEPT.try_with(|k| {
                if let Ok(mut k) = k.try_borrow_mut() {
                    if k.len() < KEPT_LEVELS {
                        k.push(c);
                    }
                }
            });
        }
    }
}

/// A chunk's PLAIN v1 data pages as its valid rows come (`plain_pages`, `pqnum::plain`): for
/// each valid row, in order, the caller tells [`Pager::before`] its row, appends its value to
/// `values`, then tells [`Pager::after`]; [`Pager::finish`] at the chunk's end. A page is cut at
/// `page_rows` rows or once its values reach `page_bytes` (after the value that reached them:
/// null rows add no bytes, so those cuts fall after valid rows only, and the others every
/// `page_rows` rows from the last cut, null rows or not), and compressed by the squeeze. The
/// null rows are not walked.
pub struct Pager<'a> {
    levels: Levels<'a>,
    page_rows: usize,
    page_bytes: usize,
    pub values: Vec<u8>,
    row: usize,
    first: usize,
    pages: Vec<Page>,
}

impl<'a> Pager<'a> {
    pub fn new(levels: Levels<'a>, page_rows: usize, page_bytes: usize) -> Pager<'a> {
        Pager { levels, page_rows: page_rows.max(1), page_bytes, values: Vec::new(), row: 0, first: 0, pages: Vec::new() }
    }

    /// Before valid row `row`'s value: the pages of `page_rows` rows that end before it cut
    /// (their rows since the last value null); whether any was.
    #[inline]
    pub fn before(&mut self, row: usize, squeeze: &mut Squeeze) -> Result<bool, String> {
        let mut cut = false;
        while self.first + self.page_rows <= row {
            self.row = self.first + self.page_rows;
            self.cut(squeeze)?;
            cut = true;
        }
        Ok(cut)
    }

    /// After valid row `row`'s value (in `values`): whether a page was cut after it.
    #[inline]
    pub fn after(&mut self, row: usize, squeeze: &mut Squeeze) -> Result<bool, String> {
        self.row = row + 1;
        if self.row - self.first < self.page_rows && self.values.len() < self.page_bytes {
            return Ok(false);
        }
        self.cut(squeeze)?;
        Ok(true)
    }

    fn cut(&mut self, squeeze: &mut Squeeze) -> Result<(), String> {
        self.pages.push(squeeze.page(page_body(&self.levels, self.first, self.row, &self.values), self.row - self.first)?);
        self.first = self.row;
        self.values.clear();
        Ok(())
    }

    /// The pages of a chunk of `rows` rows: the rest cut every `page_rows` rows, the last one where it ends.
    pub fn finish(mut self, rows: usize, squeeze: &mut Squeeze) -> Result<Vec<Page>, String> {
        while self.first < rows {
            self.row = rows.min(self.first + self.page_rows);
            self.cut(squeeze)?;
        }
        Ok(self.pages)
    }
}

/// A plain chunk's pages, its null rows and the bytes of its values (SizeStatistics).
#[derive(Debug, PartialEq)]
pub struct Plain {
    pub pages: Vec<Page>,
    pub nulls: usize,
    pub text_bytes: u64,
}

/// The text arrays `chunks` as PLAIN data pages of at most `page_rows` rows (a page is cut once
/// its values reach `page_bytes`), compressed by `squeeze`. The valid rows only are read
/// ([`ValidRows`]), each one's offsets checked as they are.
pub fn plain_pages(chunks: &[(Rows, Texts)], page_rows: usize, page_bytes: usize, squeeze: &mut Squeeze)
                   -> Result<Plain, String> {
    let mut pager = Pager::new(Levels::new(chunks.iter().map(|c| c.0)), page_rows, page_bytes);
    let (mut first, mut nulls, mut text_bytes) = (0usize, 0, 0u64);
    for (rows, texts) in chunks {
        rows.check()?;
        if texts.offsets.len() < (texts.at + rows.len + 1) * 4 {
            return Err("an offsets buffer shorter than its chunk".into());
        }
        let (offsets, data) = (&texts.offsets[texts.at * 4..(texts.at + rows.len + 1) * 4], texts.data);
        let offset = |i: usize| i32::from_le_bytes(offsets[i * 4..i * 4 + 4].try_into().unwrap());
        let mut valid = ValidRows::new(rows);
        for i in valid.by_ref() {
            let (s, e) = (offset(i), offset(i + 1));
            if s < 0 || e < s || e as usize > data.len() {
                return Err("offsets out of order or past the data".into());
            }
            let word = &data[s as usize..e as usize];
            pager.before(first + i, squeeze)?;
            plain_word(&mut pager.values, word);
            text_bytes += word.len() as u64;
            pager.after(first + i, squeeze)?;
        }
        nulls += valid.nulls;
        first += rows.len;
    }
    Ok(Plain { pages: pager.finish(first, squeeze)?, nulls, text_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pqdict::tests::decode;
    use crate::testutil::XorShift;

    fn texts_buf(words: &[Option<Vec<u8>>]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (mut off, mut data, mut bits) = (vec![0u8; 4], Vec::new(), vec![0u8; words.len().div_ceil(8)]);
        for (i, w) in words.iter().enumerate() {
            if let Some(w) = w {
                data.extend_from_slice(w);
                bits[i / 8] |= 1 << (i % 8);
            }
            off.extend_from_slice(&(data.len() as i32).to_le_bytes());
        }
        (off, data, bits)
    }

    /// A plain page read back (its levels by `pqdict`'s reading of the hybrid): each row's value or None.
    fn read_page(body: &[u8], rows: usize) -> Vec<Option<Vec<u8>>> {
        let n = u32::from_le_bytes(body[..4].try_into().unwrap()) as usize;
        let (lv, mut p) = (&body[4..4 + n], 4 + n);
        let levels = decode(lv, 1, rows);
        levels
            .iter()
            .map(|&l| {
                (l == 1).then(|| {
                    let k = u32::from_le_bytes(body[p..p + 4].try_into().unwrap()) as usize;
                    p += 4 + k;
                    body[p - k..p].to_vec()
                })
            })
            .collect()
    }

    #[test]
    fn plain_pages_read_back() {
        let mut rng = XorShift(0x9E37_79B9);
        for case in 0..200 {
            let n = (rng.next() % 700) as usize;
            let nulls = rng.next() % 3;
            let words: Vec<Option<Vec<u8>>> = (0..n)
                .map(|_| {
                    (nulls == 0 || rng.next() % (1 + nulls) != 0).then(|| (0..rng.next() % 20).map(|_| rng.next() as u8).collect())
                })
                .collect();
            let (off, data, bits) = texts_buf(&words);
            let split = if n > 0 { (rng.next() as usize) % n } else { 0 };
            let page_rows = 1 + (rng.next() % 300) as usize;
            let valid = if nulls == 0 { None } else { Some(&bits[..]) };
            // the rows in two chunks over the same buffers (the second from row `split`)
            let chunks = [
                (Rows { len: split, valid: valid.map(|b| (b, 0)) }, Texts { offsets: &off, at: 0, data: &data }),
                (Rows { len: n - split, valid: valid.map(|b| (b, split)) }, Texts { offsets: &off, at: split, data: &data }),
            ];
            let level = if case % 2 == 0 { None } else { Some(1) };
            let page_bytes = 1 + (rng.next() % 2000) as usize;
            let got = plain_pages(&chunks, page_rows, page_bytes, &mut Squeeze::new(level).unwrap()).unwrap();
            let mut back = Vec::new();
            for p in &got.pages {
                assert!(p.rows <= page_rows && p.rows > 0);
                let body = if level.is_some() { zstd::bulk::decompress(&p.body, p.size).unwrap() } else { p.body.clone() };
                assert_eq!(body.len(), p.size);
                back.extend(read_page(&body, p.rows));
            }
            assert_eq!(back, words, "case {case}");
            assert_eq!(got.nulls, words.iter().filter(|w| w.is_none()).count());
            assert_eq!(got.text_bytes, words.iter().flatten().map(|w| w.len() as u64).sum::<u64>());
        }
    }

    #[test]
    fn a_kept_context_compresses_as_a_fresh_one() {
        let mut rng = XorShift(0xC0FFEE);
        let bodies: Vec<Vec<u8>> = (0..6).map(|i| (0..(1usize << (8 + 2 * i))).map(|_| b"abcdefgh"[(rng.next() % 8) as usize]).collect()).collect();
        for level in [1, 3] {
            for body in bodies.iter().chain(bodies.iter().rev()) {
                let got = Squeeze::new(Some(level)).unwrap().page(body.clone(), 1).unwrap();
                assert_eq!(got.body, zstd::bulk::compress(body, level).unwrap());
                assert_eq!(got.size, body.len());
            }
        }
        assert!(KEPT.with(|k| k.borrow().len()) <= KEPT_LEVELS);
        // two at once on one thread: the second is made anew, both given back
        let (mut a, mut b) = (Squeeze::new(Some(1)).unwrap(), Squeeze::new(Some(1)).unwrap());
        assert_eq!(a.page(bodies[2].clone(), 1).unwrap(), b.page(bodies[2].clone(), 1).unwrap());
    }

    #[test]
    fn bad_buffers_are_refused() {
        let (off, data, _) = texts_buf(&[Some(b"ab".to_vec()), Some(b"cde".to_vec())]);
        let mut sq = Squeeze::new(Some(1)).unwrap();
        let short = [(Rows { len: 3, valid: None }, Texts { offsets: &off, at: 0, data: &data })];
        assert!(plain_pages(&short, 10, 1 << 20, &mut sq).is_err());
        let cut = [(Rows { len: 2, valid: None }, Texts { offsets: &off, at: 0, data: &data[..4] })];
        assert!(plain_pages(&cut, 10, 1 << 20, &mut sq).is_err());
        let bits = [0u8; 0];
        let no_bits = [(Rows { len: 2, valid: Some((&bits[..], 0)) }, Texts { offsets: &off, at: 0, data: &data })];
        assert!(plain_pages(&no_bits, 10, 1 << 20, &mut sq).is_err());
        let none: [(Rows, Texts); 0] = [];
        assert_eq!(plain_pages(&none, 10, 1 << 20, &mut sq).unwrap().pages.len(), 0);
    }
}
