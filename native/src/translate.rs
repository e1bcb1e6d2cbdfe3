//! RE2 syntax (what the Python tables are written in, for pyarrow) to Rust `regex` syntax.
//!
//! The two dialects agree on everything the tables use except the meaning of the Perl classes:
//! RE2 reads `\d \w \s \b` as ASCII (`\s` is `[\t\n\f\r ]`, without `\v`), the `regex` crate as
//! Unicode. Each is rewritten to its explicit ASCII form, inside and outside brackets. Anything
//! the rewrite cannot express faithfully is an error, never a silent difference.

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0C\r ";

/// Rewrite an RE2 pattern so that the `regex` crate matches exactly what RE2 matches.
pub fn re2_to_rust(re2: &str) -> Result<String, String> {
    let chars: Vec<char> = re2.chars().collect();
    let mut out = String::with_capacity(re2.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = false; // just after '[' or '[^' (a ']' there is a literal)
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                return Err(format!("trailing backslash in {re2:?}"));
            };
            i += 2;
            class_start = false;
            let class = match e {
                'd' => Some((DIGIT, false)),
                'D' => Some((DIGIT, true)),
                'w' => Some((WORD, false)),
                'W' => Some((WORD, true)),
                's' => Some((SPACE, false)),
                'S' => Some((SPACE, true)),
                _ => None,
            };
            if let Some((set, negated)) = class {
                if in_class {
                    if negated {
                        return Err(format!("negated class \\{e} inside brackets in {re2:?}"));
                    }
                    out.push_str(set);
                } else {
                    out.push('[');
                    if negated {
                        out.push('^');
                    }
                    out.push_str(set);
                    out.push(']');
                }
                continue;
            }
            match e {
                'b' | 'B' if !in_class => {
                    out.push_str("(?-u:\\");
                    out.push(e);
                    out.push(')');
                }
                'p' | 'P' | 'C' | 'Q' | 'E' | 'z' | 'A' => {
                    if matches!(e, 'p' | 'P' | 'C' | 'Q' | 'E') {
                        return Err(format!("unsupported escape \\{e} in {re2:?}"));
                    }
                    out.push('\\');
                    out.push(e);
                }
                _ => {
                    out.push('\\');
                    out.push(e);
                }
            }
            continue;
        }
        if in_class {
            if c == ']' && !class_start {
                in_class = false;
            } else if c == '[' && chars.get(i + 1) == Some(&':') {
                return Err(format!("POSIX class inside brackets in {re2:?}"));
            } else if c == '[' {
                // a literal '[' inside a class: the regex crate would read a nested class
                out.push_str("\\[");
                i += 1;
                class_start = false;
                continue;
            } else if (c == '&' || c == '~' || c == '-') && chars.get(i + 1) == Some(&c) {
                // '&&', '~~', '--' are set operators in the regex crate, plain characters in RE2
                out.push('\\');
                out.push(c);
                i += 1;
                class_start = false;
                continue;
            }
            class_start = false;
            out.push(c);
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
            out.push('[');
            i += 1;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            continue;
        }
        if c == '(' && chars.get(i + 1) == Some(&'?') {
            // flags: RE2 and the regex crate share i, m, s, U; reject anything else
            let rest: String = chars[i + 2..].iter().take(3).collect();
            if !(rest.starts_with(':') || rest.starts_with("P<") || rest.starts_with('<')
                || rest.starts_with('i') || rest.starts_with('m') || rest.starts_with('s')
                || rest.starts_with('U') || rest.starts_with('-'))
            {
                return Err(format!("unsupported group syntax in {re2:?}"));
            }
        }
        out.push(c);
        i += 1;
    }
    if in_class {
        return Err(format!("unterminated class in {re2:?}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::re2_to_rust;
    use regex::bytes::Regex;

    fn rx(p: &str) -> Regex {
        Regex::new(&re2_to_rust(p).unwrap()).unwrap()
    }

    #[test]
    fn perl_classes_become_ascii() {
        assert_eq!(re2_to_rust(r"\d+").unwrap(), "[0-9]+");
        assert_eq!(re2_to_rust(r"[^\s\[\]]").unwrap(), r"[^\t\n\x0C\r \[\]]");
        assert_eq!(re2_to_rust(r"\S").unwrap(), r"[^\t\n\x0C\r ]");
        assert!(!rx(r"^\d$").is_match("٣".as_bytes())); // Arabic-Indic digit: not \d in RE2
        assert!(!rx(r"^\w$").is_match("é".as_bytes()));
        assert!(!rx(r"^\s$").is_match("\u{a0}".as_bytes()));
        assert!(!rx(r"^\s$").is_match(b"\x0b")); // RE2's \s has no \v
        assert!(rx(r"^\S$").is_match(b"\x0b"));
        assert!(rx(r"^\S$").is_match("é".as_bytes()));
    }

    #[test]
    fn word_boundary_is_ascii() {
        assert!(rx(r"x\b").is_match("xé".as_bytes()));
        assert!(!rx(r"x\b").is_match(b"xa"));
    }

    #[test]
    fn literal_brackets_and_operators_in_classes() {
        assert!(rx(r"^[[]$").is_match(b"["));
        assert!(rx(r"^[]a]+$").is_match(b"]a"));
        assert!(rx(r"^[a&&b]+$").is_match(b"a&&b"));
        assert!(rx(r"^[\w.-]+$").is_match(b"postfix-a.b"));
    }

    #[test]
    fn rejects_what_it_cannot_express() {
        assert!(re2_to_rust(r"[\S]").is_err());
        assert!(re2_to_rust(r"\pL").is_err());
        assert!(re2_to_rust("abc\\").is_err());
        assert!(re2_to_rust("[abc").is_err());
    }

    #[test]
    fn never_panics_on_any_pattern_text() {
        // a small deterministic generator over the characters that matter to the rewrite
        let alphabet: Vec<char> = "\\[]^-&~()?P<>:dDwWsSbBpzA.*+{}|ab é".chars().collect();
        let mut rng = crate::testutil::XorShift(0x2545F4914F6CDD1D);
        for _ in 0..3_000 {
            let len = (rng.0 % 12) as usize;
            let mut text = String::new();
            for _ in 0..len {
                let r = rng.next();
                text.push(alphabet[(r % alphabet.len() as u64) as usize]);
            }
            if let Ok(rewritten) = re2_to_rust(&text) {
                let _ = Regex::new(&rewritten); // may be invalid syntax: an error, never a panic
            }
        }
    }

    #[test]
    fn named_groups_pass_through() {
        let r = rx(r"^(?P<a>\d+)(?:x)?(?P<b>y)?$");
        let c = r.captures(b"12").unwrap();
        assert_eq!(&c["a"], b"12");
        assert!(c.name("b").is_none());
    }
}
