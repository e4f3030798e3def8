//! SMS text in the GSM 03.38 7-bit alphabet, in one segment.
//!
//! A single character outside the alphabet (an ellipsis, a curly quote, an emoji) makes the whole
//! message UCS-2, whose segments hold 70 characters: a 140-character alert becomes three messages.
//! Text here is kept inside the basic set and its extension table (whose characters take two
//! septets), transliterated where a close spelling exists, and cut to one 160-septet segment.

/// A single GSM-7 segment.
pub const SEGMENT_SEPTETS: usize = 160;

/// The basic character set, in code order (the escape, 0x1B, left out).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                     ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: each is sent as escape plus a code, two septets.
const EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// Septets `c` takes, or `None` when it is not GSM-7.
pub fn septets(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// `text` in GSM-7: each character kept, spelled the nearest way the alphabet has, or `?`.
pub fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if septets(c).is_some() {
            out.push(c);
            continue;
        }
        let near = match c {
            '…' => "...",
            '‘' | '’' | '‚' | '′' | '`' | '´' => "'",
            '“' | '”' | '„' | '″' => "\"",
            '–' | '—' | '−' | '‐' | '\u{2011}' => "-",
            '\u{a0}' | '\t' | '\u{2009}' | '\u{202f}' => " ",
            '•' | '·' => "*",
            'á' | 'â' | 'ã' | 'ā' => "a",
            'Á' | 'À' | 'Â' | 'Ã' => "A",
            'ç' => "c",
            'ê' | 'ë' | 'ē' => "e",
            'È' | 'Ê' | 'Ë' => "E",
            'í' | 'î' | 'ï' => "i",
            'Í' | 'Ì' | 'Î' | 'Ï' => "I",
            'ó' | 'ô' | 'õ' => "o",
            'Ó' | 'Ò' | 'Ô' | 'Õ' => "O",
            'ú' | 'û' => "u",
            'Ú' | 'Ù' | 'Û' => "U",
            'ý' | 'ÿ' => "y",
            'ł' => "l",
            'Ł' => "L",
            'œ' => "oe",
            'Œ' => "OE",
            _ => "?",
        };
        out.push_str(near);
    }
    out
}

/// `text` (already GSM-7) within `max_chars` characters and one segment, ending in `...` when cut.
pub fn fit(text: &str, max_chars: usize) -> String {
    let cost = |s: &str| s.chars().map(|c| septets(c).unwrap_or(1)).sum::<usize>();
    if text.chars().count() <= max_chars && cost(text) <= SEGMENT_SEPTETS {
        return text.to_owned();
    }
    let (budget_chars, budget_septets) = (max_chars - 3, SEGMENT_SEPTETS - 3);
    let mut out = String::new();
    let (mut chars, mut used) = (0, 0);
    for c in text.chars() {
        let n = septets(c).unwrap_or(1);
        if chars + 1 > budget_chars || used + n > budget_septets {
            break;
        }
        out.push(c);
        chars += 1;
        used += n;
    }
    out.truncate(out.trim_end().len());
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn septet_count(text: &str) -> usize {
        text.chars().map(|c| septets(c).expect("GSM-7")).sum()
    }

    #[test]
    fn the_alphabet_has_128_basic_characters_less_escape_and_ten_extension_ones() {
        assert_eq!(BASIC.chars().count(), 127);
        assert_eq!(EXTENSION.chars().count(), 10);
    }

    #[test]
    fn what_is_not_gsm_7_is_spelled_near_or_replaced() {
        assert_eq!(
            transliterate("Disk 95 % — “full”…"),
            "Disk 95 % - \"full\"..."
        );
        assert_eq!(transliterate("café déjà ç 🔥"), "café déjà c ?");
        assert_eq!(transliterate("a{b}€"), "a{b}€");
        assert!(
            transliterate("Überlauf naïve ½ 日本")
                .chars()
                .all(|c| septets(c).is_some())
        );
    }

    #[test]
    fn a_cut_message_stays_in_one_segment() {
        let plain = "word ".repeat(50);
        let cut = fit(&plain, 140);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with("...") && septet_count(&cut) <= SEGMENT_SEPTETS);

        // Extension characters cost two septets: 140 of them could not fit in 160.
        let braces = "{}".repeat(100);
        let cut = fit(&braces, 140);
        assert!(
            septet_count(&cut) <= SEGMENT_SEPTETS,
            "{}",
            septet_count(&cut)
        );
        assert!(cut.chars().count() <= 140);

        assert_eq!(fit("short", 140), "short");
    }
}
